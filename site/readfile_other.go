//go:build !unix

package site

import "os"

// readFileInto reads the file at path (os.ReadFile; buf is not used
// here).
func readFileInto(path string, buf []byte) ([]byte, error) { return os.ReadFile(path) }
