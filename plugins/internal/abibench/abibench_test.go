package abibench

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/internal/plugintest"
	"github.com/cpupolicy/cpupolicy/plugins/internal/sandbox"
	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
)

func TestMain(m *testing.M) {
	code := m.Run()
	plugintest.Cleanup()
	os.Exit(code)
}

// dump is this development host's full `cpuid -r` dump (85 leaves) plus a
// Zhaoxin 0xC000_0001 leaf, so that both decoders have names to answer.
func dump(t testing.TB) cpuid.Leaves {
	f, err := os.Open("../../../testdata/hosts/this-machine.cpuid.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ls, err := cpuid.ParseDump(f.Name(), f)
	if err != nil {
		t.Fatal(err)
	}
	ls = append(ls, cpuid.Leaf{Leaf: 0xC0000001, EDX: 1<<2 | 1<<3 | 1<<25})
	return ls
}

var want = []string{"xstore", "xstore-en", "phe2"}

// codec is one encoding, both sides.
type codec struct {
	name    string
	request func(cpuid.Leaves) []byte
	reply   func([]byte) ([]string, error)
}

var codecs = []codec{
	{"json", func(ls cpuid.Leaves) []byte {
		req := struct {
			Leaves [][6]uint32 `json:"leaves"`
		}{}
		for _, l := range ls {
			req.Leaves = append(req.Leaves, [6]uint32{l.Leaf, l.Subleaf, l.EAX, l.EBX, l.ECX, l.EDX})
		}
		b, _ := json.Marshal(req)
		return b
	}, func(b []byte) ([]string, error) {
		var rep struct {
			Features []string `json:"features"`
		}
		err := json.Unmarshal(b, &rep)
		return rep.Features, err
	}},
	{"compact", func(ls cpuid.Leaves) []byte {
		var e wire.Encoder
		e.B = make([]byte, 0, 4+wire.LeafSize*len(ls))
		ws := make([]wire.Leaf, len(ls))
		for i, l := range ls {
			ws[i] = wire.Leaf(l)
		}
		wire.EncodeLeaves(&e, ws)
		return e.B
	}, func(b []byte) ([]string, error) {
		var d wire.Decoder
		d.Reset(b)
		names := d.Strs()
		return names, d.End()
	}},
}

func load(t testing.TB, name, cacheDir string) (*sandbox.Module, int) {
	// Unsealed: these modules speak a bare ABI of their own, not the SDK's.
	path := plugintest.BuildUnsealed(t, "github.com/cpupolicy/cpupolicy/plugins/internal/abibench/testdata/"+name)
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sandbox.Compile(context.Background(), wasm, sandbox.Options{
		MemoryLimit: 64 << 20, Timeout: 10 * time.Second, MaxReply: 4 << 20, CacheDir: cacheDir,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, len(wasm)
}

func call(m *sandbox.Module, c codec, ls cpuid.Leaves) ([]string, error) {
	var names []string
	err := m.Call(context.Background(), "decode", c.request(ls), true, func(payload []byte) (err error) {
		names, err = c.reply(payload)
		return err
	})
	return names, err
}

// TestTwins: both twins answer the same.
func TestTwins(t *testing.T) {
	ls := dump(t)
	for _, c := range codecs {
		m, _ := load(t, c.name, plugintest.CacheDir(t))
		got, err := call(m, c, ls)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, %v", c.name, got, err)
		}
		m.Close(context.Background())
	}
}

// BenchmarkEncoding reports, for each encoding: the module's size, its
// load from a warm cache (compile-ms) and first instantiation, and (as
// ns/op) one decode call on the full dump, both sides' encoding included.
func BenchmarkEncoding(b *testing.B) {
	ls := dump(b)
	for _, c := range codecs {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			m, size := load(b, c.name, dir) // fills the cache
			m.Close(context.Background())
			m, _ = load(b, c.name, dir)
			defer m.Close(context.Background())
			inst, took, err := m.Instantiate(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			m.Put(inst)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := call(m, c, ls); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size), "wasm-bytes")
			b.ReportMetric(float64(m.CompileTime.Microseconds())/1000, "warm-compile-ms")
			b.ReportMetric(float64(took.Microseconds())/1000, "instantiate-ms")
		})
	}
}
