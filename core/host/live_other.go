//go:build !linux

package host

import "errors"

func onFirstCPU(fn func()) { fn() }

func (l live) Kernel() (string, error) { return "", errors.New("kernel release: needs Linux") }
