// Package cache keeps wazero's on-disk compilation cache honest.
//
// wazero writes one file per compiled module into the directory it is
// given and trusts it on the next start: a file that was truncated or
// overwritten makes CompileModule fail with an error, or, when the damage
// hits the header's function count, makes it allocate whatever the bytes
// say. So each plugin module gets its own directory, named after the
// SHA-256 of its bytes, and after wazero has written its entry a "sums"
// file records the size and CRC-32C of every file in it. A directory whose
// files do not match their sums (or that has entries and no sums) is wiped
// before wazero sees it, and the module is compiled afresh: a corrupt cache
// costs one compilation, never a failure.
package cache

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

const sumsName = "sums"

// castagnoli is built on first use: building it at init would cost every
// cpupolicy process 0.1 ms, plugins or not.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// Key returns the directory name for a module: the hex SHA-256 of its
// bytes (first 32 digits) and the engine that compiled it.
func Key(wasm []byte, engine string) string {
	h := sha256.Sum256(wasm)
	return hex.EncodeToString(h[:16]) + "-" + engine
}

// Dir is one module's directory in the cache.
type Dir struct {
	path string
	hit  bool
	// Wiped says why Open wiped the directory, or "".
	Wiped string
}

// Path returns the directory to give wazero.
func (d *Dir) Path() string { return d.path }

// Hit reports whether the directory held a verified entry when opened.
func (d *Dir) Hit() bool { return d.hit }

// Open returns the directory for key under base, creating it, and
// verifies what it holds against its sums, wiping it if they disagree.
func Open(base, key string) (*Dir, error) {
	d := &Dir{path: filepath.Join(base, key)}
	if err := os.MkdirAll(d.path, 0o700); err != nil {
		return nil, err
	}
	why, err := d.verify()
	if err != nil {
		return nil, err
	}
	switch {
	case why == "":
		d.hit = true
	case why != "empty":
		d.Wiped = why
		if err := d.Wipe(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// files lists the regular files under the directory other than the sums,
// as slash-separated paths relative to it, sorted. wazero's temporary
// files (written, then renamed into place) are skipped.
func (d *Dir) files() ([]string, error) {
	var names []string
	err := filepath.WalkDir(d.path, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(d.path, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == sumsName || strings.HasSuffix(rel, ".tmp") {
			return nil
		}
		names = append(names, rel)
		return nil
	})
	sort.Strings(names)
	return names, err
}

func sum(path string) (size int64, crc uint32, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	h := crc32.New(castagnoli())
	size, err = io.Copy(h, f)
	return size, h.Sum32(), err
}

// verify returns "" when every file matches the sums, "empty" when there
// are neither files nor sums, and otherwise why the directory is not
// trustworthy.
func (d *Dir) verify() (string, error) {
	files, err := d.files()
	if err != nil {
		return "", err
	}
	f, err := os.Open(filepath.Join(d.path, sumsName))
	if errors.Is(err, fs.ErrNotExist) {
		if len(files) == 0 {
			return "empty", nil
		}
		return "entries without sums (an interrupted compilation?)", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			return "malformed sums file", nil
		}
		want[fields[2]] = fields[0] + " " + fields[1]
	}
	if sc.Err() != nil {
		return "unreadable sums file", nil
	}
	if len(want) == 0 {
		return "empty sums file", nil
	}
	for _, name := range files {
		w, ok := want[name]
		if !ok {
			return name + " is not in the sums file", nil
		}
		size, crc, err := sum(filepath.Join(d.path, filepath.FromSlash(name)))
		if err != nil {
			return name + ": " + err.Error(), nil
		}
		if got := fmt.Sprintf("%08x %d", crc, size); got != w {
			return name + " does not match its sum (corrupt entry)", nil
		}
		delete(want, name)
	}
	for name := range want {
		return name + " is missing", nil
	}
	return "", nil
}

// Seal records the sums of the files wazero wrote. Call it after a
// successful compilation that missed the cache.
func (d *Dir) Seal() error {
	files, err := d.files()
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return nil // the engine wrote nothing (the interpreter does not)
	}
	var b strings.Builder
	for _, name := range files {
		size, crc, err := sum(filepath.Join(d.path, filepath.FromSlash(name)))
		if err != nil {
			return err
		}
		b.WriteString(fmt.Sprintf("%08x %s %s\n", crc, strconv.FormatInt(size, 10), name))
	}
	tmp, err := os.CreateTemp(d.path, sumsName+".*.tmp")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(d.path, sumsName))
}

// Wipe empties the directory.
func (d *Dir) Wipe() error {
	d.hit = false
	if err := os.RemoveAll(d.path); err != nil {
		return err
	}
	return os.MkdirAll(d.path, 0o700)
}
