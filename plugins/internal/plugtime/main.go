// Command plugtime loads one plugin in a fresh process, decodes a
// `cpuid -r` dump with it once, and prints how long each step took: what
// a cpupolicy command pays per plugin. bench/plugins.sh runs it under
// hyperfine (the whole process) and alone (the steps).
//
//	plugtime [-cache DIR] [-interpreter] [-dump FILE] PLUGIN.wasm
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/plugins"
)

func main() {
	start := time.Now()
	cache := flag.String("cache", "", "compilation cache directory (\"\" for none)")
	interp := flag.Bool("interpreter", false, "use wazero's interpreter")
	dump := flag.String("dump", "testdata/hosts/this-machine.cpuid.txt", "`cpuid -r` dump to decode")
	quiet := flag.Bool("q", false, "print nothing")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: plugtime [-cache DIR] [-interpreter] [-dump FILE] PLUGIN.wasm")
		os.Exit(2)
	}
	f, err := os.Open(*dump)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	leaves, err := cpuid.ParseDump(f.Name(), f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	cfg := plugins.Config{}.WithCacheDir(*cache).WithInterpreter(*interp)
	t0 := time.Now()
	p, err := plugins.Load(ctx, flag.Arg(0), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	t1 := time.Now()
	names, err := p.Decode(ctx, leaves)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	t2 := time.Now()
	if *quiet {
		return
	}
	info := p.Info()
	fmt.Printf("load %.1f ms (compile %.1f ms, cache hit %v; instantiate %.1f ms; describe %.2f ms), first decode %.1f µs, load+decode %.1f ms, since main %.1f ms; %d features\n",
		ms(t1.Sub(t0)), ms(info.Compile), info.CacheHit, ms(info.Instantiate), ms(info.Describe),
		float64(t2.Sub(t1).Nanoseconds())/1e3, ms(t2.Sub(t0)), ms(t2.Sub(start)), len(names))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
