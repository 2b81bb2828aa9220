//go:build !wasip1

package sdk

// Log is a no-op outside WebAssembly, where a plugin's code runs only in
// its own tests.
func Log(msg string) {}
