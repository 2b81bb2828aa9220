package wire_test

import (
	"reflect"
	"testing"

	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
	"github.com/cpupolicy/cpupolicy/plugins/sdk"
)

// TestModelSchemaInStep: wire.Model, Version and Prop mirror the SDK's
// (the one model schema; the SDK imports this package, so the wire
// cannot use its types): the same fields, in the same order, with the
// same types, down through the slices. A field added on one side only
// fails here.
func TestModelSchemaInStep(t *testing.T) {
	sameStruct(t, reflect.TypeFor[sdk.Model](), reflect.TypeFor[wire.Model]())
}

func sameStruct(t *testing.T, a, b reflect.Type) {
	t.Helper()
	if a.NumField() != b.NumField() {
		t.Errorf("%v has %d fields, %v %d", a, a.NumField(), b, b.NumField())
	}
	for i := range min(a.NumField(), b.NumField()) {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name {
			t.Errorf("%v field %d is %s, %v's is %s", a, i, fa.Name, b, fb.Name)
			continue
		}
		sameType(t, a.Name()+"."+fa.Name, fa.Type, fb.Type)
	}
}

func sameType(t *testing.T, where string, a, b reflect.Type) {
	t.Helper()
	switch {
	case a.Kind() != b.Kind():
		t.Errorf("%s: %v in the SDK, %v on the wire", where, a, b)
	case a.Kind() == reflect.Slice:
		sameType(t, where+"[]", a.Elem(), b.Elem())
	case a.Kind() == reflect.Struct:
		if a.Name() != b.Name() {
			t.Errorf("%s: %v in the SDK, %v on the wire", where, a, b)
		}
		sameStruct(t, a, b)
	case a != b:
		t.Errorf("%s: %v in the SDK, %v on the wire", where, a, b)
	}
}
