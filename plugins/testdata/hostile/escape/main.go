// Command escape is a hostile plugin that tries to leave its sandbox:
// decode reads, lists and creates files, reads the environment and its
// arguments, dials the network and reads the clock. It reports anything
// that worked as feature names ("leak:…"), and everything that was
// refused as its error, one refusal per clause.
package main

import (
	"net"
	"os"
	"strings"
	"time"

	"github.com/cpupolicy/cpupolicy/plugins/sdk"
)

func init() {
	sdk.Register(&sdk.Plugin{Name: "escape", Decode: escape})
}

func escape(sdk.CPUID) ([]string, error) {
	var leaks, refused []string
	try := func(what string, err error, leak string) {
		if err != nil {
			refused = append(refused, what+": "+err.Error())
		} else {
			leaks = append(leaks, "leak:"+what+":"+leak)
		}
	}
	b, err := os.ReadFile("/etc/passwd")
	try("read /etc/passwd", err, string(b))
	ents, err := os.ReadDir("/")
	try("list /", err, strings.Repeat("x", len(ents)))
	f, err := os.Create("/tmp/cpupolicy-escape")
	if f != nil {
		f.Close()
	}
	try("create /tmp/cpupolicy-escape", err, "created")
	c, err := net.DialTimeout("tcp", "127.0.0.1:22", time.Second)
	if c != nil {
		c.Close()
	}
	try("dial 127.0.0.1:22", err, "connected")
	if env := os.Environ(); len(env) > 0 {
		leaks = append(leaks, "leak:environ:"+strings.Join(env, ","))
	} else {
		refused = append(refused, "environ: empty")
	}
	if len(os.Args) > 0 {
		leaks = append(leaks, "leak:args:"+strings.Join(os.Args, ","))
	} else {
		refused = append(refused, "args: none")
	}
	// wazero's fake wall clock starts at 2022-01-01T00:00:00Z and moves
	// 1 ms per reading.
	if now := time.Now().UTC(); now.After(time.Date(2022, 1, 2, 0, 0, 0, 0, time.UTC)) {
		leaks = append(leaks, "leak:clock:"+now.Format(time.RFC3339))
	} else {
		refused = append(refused, "clock: fake, reads "+now.Format(time.RFC3339))
	}
	if len(leaks) > 0 {
		return leaks, nil
	}
	return nil, sdk.Error(strings.Join(refused, "; "))
}

func main() {}
