module example.com/acme-plugin

go 1.26.0

require github.com/cpupolicy/cpupolicy v0.0.0

// Built here against this checkout; a vendor outside this repository
// drops the replace and requires a released version.
replace github.com/cpupolicy/cpupolicy => ../..
