package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	for _, data := range []string{"first\n", "second\n"} {
		if err := Write(path, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("got %q, %v; want %q", got, err, data)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", fi.Mode(), err)
	}
	// A failure (here: a directory where the file should be) leaves the
	// directory as it was.
	if err := Write(dir, []byte("x")); err == nil {
		t.Error("writing over a directory succeeded")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".cpupolicy-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestWriteErrors: a path that cannot be written is refused with a
// message about the path, never the temporary file's random name.
func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{dir, "is a directory"},
		{dir + "/", "is a directory"},
		{filepath.Join(dir, "nodir", "out.json"), "no directory " + filepath.Join(dir, "nodir")},
		{filepath.Join(file, "out.json"), file + " is not a directory"},
	} {
		err := Write(c.path, []byte("data"))
		if err == nil || err.Error() != c.want {
			t.Errorf("Write(%s) = %v, want %s", c.path, err, c.want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".cpupolicy-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
