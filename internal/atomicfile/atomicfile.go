// Package atomicfile writes a file so that readers see the old contents
// or the new, never a part: what `cpupolicy … -o FILE` promises.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Write writes data to path through a temporary file in the same
// directory and a rename, so that a reader never sees a partial file and a
// failure leaves no file behind.
//
// An error names what is wrong with path itself ("is a directory", "no
// directory /x/y", "/x is not a directory"), never the temporary file,
// whose random name the user did not choose; the caller names path.
func Write(path string, data []byte) error {
	dir := "."
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		dir = path[:i+1]
	}
	// Rename would replace a file but fails on a directory with a message
	// about the temporary file ("rename ./.cpupolicy-1.tmp adir: file
	// exists"); say it first.
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return errors.New("is a directory")
	}
	tmp, err := os.CreateTemp(dir, ".cpupolicy-*.tmp")
	if err != nil {
		return dirError(dir, err)
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
		var pe *fs.PathError
		var le *os.LinkError
		switch {
		case errors.As(err, &pe):
			err = pe.Err
		case errors.As(err, &le):
			err = le.Err
		}
	}
	return err
}

// dirError words the failure to create a file in dir.
func dirError(dir string, err error) error {
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "/"
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no directory %s", dir)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("directory %s is not writable", dir)
	}
	if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("directory %s: %v", dir, pe.Err)
	}
	return err
}
