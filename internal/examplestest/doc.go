// Package examplestest tests the programs under examples/ the way their
// readers use them, from the root module's `go test ./...`: the vendor
// plugin is built as the module of its own that it is (its go.mod
// requires github.com/cpupolicy/cpupolicy, replaced by this checkout), and
// the systemd units are verified with systemd-analyze and run. examples/
// holds no package of the root module, so none of them is API.
package examplestest
