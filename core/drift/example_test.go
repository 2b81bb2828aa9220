package drift_test

import (
	"fmt"
	"log"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/drift"
)

// What moving a site from QEMU 7.2 to 10.0 changes.
func ExampleDiff() {
	a, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		log.Fatal(err)
	}
	b, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		log.Fatal(err)
	}
	d := drift.Diff(a, b)
	fmt.Printf("models: %d added, %d removed\n", len(d.ModelsAdded), len(d.ModelsRemoved))
	fmt.Printf("machine types: %d added, %d removed (%s … %s)\n", len(d.MachinesAdded), len(d.MachinesRemoved), d.MachinesRemoved[0], d.MachinesRemoved[len(d.MachinesRemoved)-1])
	fmt.Printf("triples: %d changed of %d\n", len(d.Changed), d.Common)
	// Output:
	// models: 22 added, 0 removed
	// machine types: 14 added, 8 removed (pc-i440fx-1.4 … pc-i440fx-2.3)
	// triples: 0 changed of 12220
}

// A site on QEMU 7.2 locks the models and machine types it runs, then
// checks QEMU 10.0 against the lock before upgrading.
func ExampleVerify() {
	old, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		log.Fatal(err)
	}
	lock, err := drift.Lock(old, drift.Scope{
		Models:   []string{"Skylake-Client-v4", "EPYC-v3"},
		Machines: []string{"pc-q35-7.2", "pc-i440fx-2.3"},
	})
	if err != nil {
		log.Fatal(err)
	}
	next, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		log.Fatal(err)
	}
	rep := drift.Verify(lock, next)
	fmt.Printf("%d of %d locked triples checked\n", rep.Checked, rep.Locked)
	for _, f := range rep.Findings {
		fmt.Println(f.String())
	}
	// Output:
	// 4 of 8 locked triples checked
	// machine type pc-i440fx-2.3 is gone: 4 locked triples cannot start
}
