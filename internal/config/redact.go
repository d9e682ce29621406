package config

import "reflect"

// RedactedValue replaces secrets in Redacted copies.
const RedactedValue = "[redacted]"

// Redacted returns a deep copy of c that is safe to show (GET /config): the
// admin token, the Redis password and the JWT HS256 secret are replaced by
// RedactedValue when set. c is not modified and shares no memory with the
// copy. A nil Config gives nil.
func (c *Config) Redacted() *Config {
	if c == nil {
		return nil
	}
	out := deepCopy(reflect.ValueOf(c)).Interface().(*Config)
	redact(&out.Admin.Token)
	if out.Redis != nil {
		redact(&out.Redis.Password)
	}
	if out.Identity != nil && out.Identity.JWT != nil {
		redact(&out.Identity.JWT.HS256Secret)
	}
	return out
}

func redact(s *string) {
	if *s != "" {
		*s = RedactedValue
	}
}

// deepCopy copies a value of the config's types: pointers, structs, slices
// and maps are copied recursively; structs with unexported fields
// (time.Time, netip.Prefix) are immutable values and copied as a whole.
// Being generic, it keeps working when fields are added.
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(deepCopy(v.Elem()))
		return p
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for i := range v.NumField() {
			if f := out.Field(i); f.CanSet() {
				f.Set(deepCopy(v.Field(i)))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(deepCopy(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return out
	}
	return v
}
