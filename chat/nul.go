package chat

import "reflect"

// errNUL refuses text with a NUL character: PostgreSQL cannot store one,
// so it is turned away before anything is stored, on every database alike.
var errNUL = Errorf(EInvalid, "text must not contain NUL (U+0000) characters")

// hasNUL reports whether any string reachable from v (through pointers,
// structs, slices and maps) holds a NUL character.
func hasNUL(v any) bool { return nulIn(reflect.ValueOf(v)) }

func nulIn(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		for i := 0; i < len(s); i++ {
			if s[i] == 0 {
				return true
			}
		}
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && nulIn(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && nulIn(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if nulIn(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if nulIn(it.Key()) || nulIn(it.Value()) {
				return true
			}
		}
	}
	return false
}
