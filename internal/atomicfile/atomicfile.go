// Package atomicfile writes a file so that readers see the old contents
// or the new, never a part: what `cpupolicy … -o FILE` promises.
package atomicfile

import (
	"os"
	"strings"
)

// Write writes data to path through a temporary file in the same
// directory and a rename, so that a reader never sees a partial file and a
// failure leaves no file behind.
func Write(path string, data []byte) error {
	dir := "."
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		dir = path[:i+1]
	}
	tmp, err := os.CreateTemp(dir, ".cpupolicy-*.tmp")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
