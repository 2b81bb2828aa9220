// Command mkbin writes the binary form (NAME.bin) of each catalog file
// NAME.json given as an argument, for embedding. gen.sh runs it.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

func main() {
	for _, path := range os.Args[1:] {
		if err := convert(path); err != nil {
			fmt.Fprintf(os.Stderr, "mkbin: %v\n", err)
			os.Exit(1)
		}
	}
}

func convert(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	name := strings.TrimSuffix(path[strings.LastIndexByte(path, '/')+1:], ".json")
	c, err := catalog.Parse(name, data, feature.Builtin())
	if err != nil {
		return err
	}
	bin, err := c.MarshalBinary()
	if err != nil {
		return err
	}
	return os.WriteFile(strings.TrimSuffix(path, ".json")+".bin", bin, 0o644)
}
