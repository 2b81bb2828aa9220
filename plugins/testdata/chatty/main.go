// Command chatty is a test plugin that uses the host's log import: decode
// logs one line, and the check "flood" logs far more than the host keeps.
package main

import (
	"strings"

	"github.com/cpupolicy/cpupolicy/plugins/sdk"
)

func init() {
	sdk.Register(&sdk.Plugin{
		Name: "chatty",
		Decode: func(c sdk.CPUID) ([]string, error) {
			sdk.Log("decoding " + c.Vendor())
			return nil, nil
		},
		Checks: []sdk.Check{{
			Name: "flood",
			Run: func([]byte) ([]byte, error) {
				line := strings.Repeat("x", 4096)
				for i := 0; i < 2000; i++ {
					sdk.Log(line)
				}
				return []byte("true"), nil
			},
		}},
	})
}

func main() {}
