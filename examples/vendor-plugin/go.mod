module example.com/acme-plugin

go 1.26.0

require github.com/cpupolicy/cpupolicy v0.0.0

require (
	github.com/tetratelabs/wazero v1.12.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

// Built here against this checkout; a vendor outside this repository
// drops the replace and requires a released version.
replace github.com/cpupolicy/cpupolicy => ../..
