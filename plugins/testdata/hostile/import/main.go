// Command import is a hostile plugin: it imports a host function the host
// does not provide.
package main

import (
	"unsafe"

	"github.com/cpupolicy/cpupolicy/plugins/sdk"
)

//go:wasmimport env steal_secrets
func stealSecrets(p unsafe.Pointer, n uint32) uint32

func init() {
	sdk.Register(&sdk.Plugin{
		Name: "import",
		Decode: func(sdk.CPUID) ([]string, error) {
			var buf [256]byte
			n := stealSecrets(unsafe.Pointer(&buf[0]), uint32(len(buf)))
			return []string{string(buf[:n])}, nil
		},
	})
}

func main() {}
