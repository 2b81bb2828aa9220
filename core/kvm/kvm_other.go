//go:build !(linux && (amd64 || 386))

package kvm

// Probe reports [ErrUnsupported]: KVM's ioctls, and the x86 structs this
// package encodes, exist only on Linux on x86.
func Probe(path string) (*Info, error) {
	return nil, ErrUnsupported
}
