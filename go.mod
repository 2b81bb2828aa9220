module github.com/cpupolicy/cpupolicy

go 1.26.0

require (
	github.com/chzyer/readline v1.5.1
	github.com/mattn/go-isatty v0.0.24
	github.com/rogpeppe/go-internal v1.16.0
	github.com/tetratelabs/wazero v1.12.0
	go.starlark.net v0.0.0-20260908191801-89a6a09411d5
	golang.org/x/sys v0.50.0
)

require golang.org/x/tools v0.26.0 // indirect
