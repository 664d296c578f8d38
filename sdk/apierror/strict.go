package apierror

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// MaxJSONDepth is the deepest nesting of objects and arrays a request body
// may have. A deeper body is refused with a description that says so.
const MaxJSONDepth = 64

// TagBase64URL is the option of the `api` struct tag that makes a []byte
// field travel as base64url without padding (see Base64URL):
//
//	Key []byte `json:"key" api:"base64url"`
//
// The strict decoder decodes such a field with DecodeBase64URL; the
// standard library would expect padded standard base64. Other `api` options
// belong to sdk/route and are ignored here.
const TagBase64URL = "base64url"

// UnmarshalStrict decodes data, which must hold exactly one JSON value, into
// v (a non-nil pointer) more strictly than encoding/json does:
//
//   - an object key may appear once: a duplicate key is refused, where
//     encoding/json keeps the last;
//   - keys match struct fields exactly: a key that differs from a field's
//     name only in case is refused, where encoding/json accepts it;
//   - unknown fields are refused;
//   - objects and arrays nest at most MaxJSONDepth levels;
//   - []byte fields tagged `api:"base64url"` are strict base64url.
//
// Every failure is a 400 invalid_request *Error naming the field or key (in
// dotted form for nested ones), never the value sent.
func UnmarshalStrict(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errNotPointer
	}
	d := &strictDecoder{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	d.dec.UseNumber()
	if len(bytes.TrimLeft(data, " \t\r\n")) == 0 {
		return BadRequest("the request body is empty")
	}
	t, err := d.next()
	if err != nil {
		return err
	}
	if err := d.value(t, rv.Elem(), "", false); err != nil {
		return err
	}
	if _, err := d.dec.Token(); !errors.Is(err, io.EOF) {
		return BadRequest("the request body must hold exactly one JSON object")
	}
	return nil
}

// errNotPointer is a programming error: UnmarshalStrict needs a pointer.
var errNotPointer = errors.New("apierror: UnmarshalStrict needs a non-nil pointer")

type strictDecoder struct {
	data  []byte
	dec   *json.Decoder
	depth int
	// before is the input offset before the last token read.
	before int64
}

var (
	rawMessageType       = reflect.TypeFor[json.RawMessage]()
	jsonUnmarshalerType  = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType  = reflect.TypeFor[encoding.TextUnmarshaler]()
	byteSliceElementKind = reflect.Uint8
)

// syntax maps a tokenizer error to the API error.
func (d *strictDecoder) syntax(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("the request body is truncated JSON")
	case errors.As(err, &se):
		return BadRequest("malformed JSON at byte %d", se.Offset)
	default:
		return BadRequest("malformed JSON request body")
	}
}

// next reads the next token; the end of input inside a value is truncation.
func (d *strictDecoder) next() (json.Token, error) {
	d.before = d.dec.InputOffset()
	t, err := d.dec.Token()
	if err != nil {
		return nil, d.syntax(err)
	}
	return t, nil
}

// enter counts one more level of nesting.
func (d *strictDecoder) enter() error {
	d.depth++
	if d.depth > MaxJSONDepth {
		return BadRequest("the JSON nesting limit of %d levels was exceeded at byte %d", MaxJSONDepth, d.dec.InputOffset())
	}
	return nil
}

// typeError is encoding/json's wording for a value of the wrong type.
func typeError(path string, t reflect.Type) error {
	if path == "" {
		return BadRequest("the request body must be a JSON object")
	}
	return BadRequest("field %q must be of type %s", path, t.String())
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// value decodes the value that starts with token t into rv.
func (d *strictDecoder) value(t json.Token, rv reflect.Value, path string, b64 bool) error {
	typ := rv.Type()
	if typ == rawMessageType || typ.Kind() == reflect.Interface ||
		reflect.PointerTo(typ).Implements(jsonUnmarshalerType) ||
		reflect.PointerTo(typ).Implements(textUnmarshalerType) && typ.Kind() != reflect.Pointer {
		return d.opaque(t, rv, path)
	}
	if t == nil { // null: encoding/json's meaning
		switch typ.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice:
			rv.SetZero()
		}
		return nil
	}
	switch typ.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			rv.Set(reflect.New(typ.Elem()))
		}
		return d.value(t, rv.Elem(), path, b64)
	case reflect.Struct:
		if t != json.Delim('{') {
			return d.mismatch(t, path, typ)
		}
		return d.object(rv, path)
	case reflect.Map:
		if t != json.Delim('{') {
			return d.mismatch(t, path, typ)
		}
		if typ.Key().Kind() != reflect.String {
			return d.opaque(t, rv, path)
		}
		return d.mapValue(rv, path)
	case reflect.Slice:
		if typ.Elem().Kind() == byteSliceElementKind {
			s, ok := t.(string)
			if !ok {
				return d.mismatch(t, path, typ)
			}
			if !b64 {
				return d.opaque(t, rv, path)
			}
			out, err := DecodeBase64URL(path, s)
			if err != nil {
				return err
			}
			rv.SetBytes(out)
			return nil
		}
		if t != json.Delim('[') {
			return d.mismatch(t, path, typ)
		}
		return d.array(rv, path)
	case reflect.String:
		s, ok := t.(string)
		if !ok {
			return d.mismatch(t, path, typ)
		}
		rv.SetString(s)
		return nil
	case reflect.Bool:
		bv, ok := t.(bool)
		if !ok {
			return d.mismatch(t, path, typ)
		}
		rv.SetBool(bv)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := t.(json.Number)
		if !ok {
			return d.mismatch(t, path, typ)
		}
		i, err := strconv.ParseInt(string(n), 10, typ.Bits())
		if err != nil {
			return typeError(path, typ)
		}
		rv.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, ok := t.(json.Number)
		if !ok {
			return d.mismatch(t, path, typ)
		}
		u, err := strconv.ParseUint(string(n), 10, typ.Bits())
		if err != nil {
			return typeError(path, typ)
		}
		rv.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		n, ok := t.(json.Number)
		if !ok {
			return d.mismatch(t, path, typ)
		}
		f, err := strconv.ParseFloat(string(n), typ.Bits())
		if err != nil {
			return typeError(path, typ)
		}
		rv.SetFloat(f)
		return nil
	default:
		return d.opaque(t, rv, path)
	}
}

// mismatch skips the rest of a value of the wrong type (so a syntax error
// later in it still wins, as with encoding/json) and reports the type.
func (d *strictDecoder) mismatch(t json.Token, path string, typ reflect.Type) error {
	if err := d.skip(t); err != nil {
		return err
	}
	return typeError(path, typ)
}

// members walks the members of an object (after its '{'): it refuses a
// key given twice and hands each key to member, which reads the value.
func (d *strictDecoder) members(path string, member func(key string) error) error {
	if err := d.enter(); err != nil {
		return err
	}
	var seen keySet
	for {
		t, err := d.next()
		if err != nil {
			return err
		}
		if t == json.Delim('}') {
			d.depth--
			return nil
		}
		key, _ := t.(string)
		if seen.add(key) {
			return BadRequest("duplicate key %q", clipKey(join(path, key)))
		}
		if err := member(key); err != nil {
			return err
		}
	}
}

// object decodes the members of an object (after its '{') into a struct.
func (d *strictDecoder) object(rv reflect.Value, path string) error {
	fields := fieldsOf(rv.Type())
	return d.members(path, func(key string) error {
		f, ok := fields.byName[key]
		if !ok {
			if name, folded := fields.folded[strings.ToLower(key)]; folded {
				return BadRequest("unknown field %q: keys are case-sensitive, this one is %q", clipKey(join(path, key)), join(path, name))
			}
			return BadRequest("unknown field %q", clipKey(join(path, key)))
		}
		vt, err := d.next()
		if err != nil {
			return err
		}
		fv, err := fieldByIndex(rv, f.index)
		if err != nil {
			return err
		}
		return d.value(vt, fv, join(path, key), f.base64url)
	})
}

// mapValue decodes an object into a map with string keys.
func (d *strictDecoder) mapValue(rv reflect.Value, path string) error {
	typ := rv.Type()
	if rv.IsNil() {
		rv.Set(reflect.MakeMap(typ))
	}
	return d.members(path, func(key string) error {
		vt, err := d.next()
		if err != nil {
			return err
		}
		ev := reflect.New(typ.Elem()).Elem()
		if err := d.value(vt, ev, join(path, key), false); err != nil {
			return err
		}
		rv.SetMapIndex(reflect.ValueOf(key).Convert(typ.Key()), ev)
		return nil
	})
}

// array decodes an array (after its '[') into a slice.
func (d *strictDecoder) array(rv reflect.Value, path string) error {
	if err := d.enter(); err != nil {
		return err
	}
	out := reflect.MakeSlice(rv.Type(), 0, 0)
	for i := 0; ; i++ {
		t, err := d.next()
		if err != nil {
			return err
		}
		if t == json.Delim(']') {
			d.depth--
			rv.Set(out)
			return nil
		}
		ev := reflect.New(rv.Type().Elem()).Elem()
		if err := d.value(t, ev, path+"["+strconv.Itoa(i)+"]", false); err != nil {
			return err
		}
		out = reflect.Append(out, ev)
	}
}

// skip reads the rest of the value starting with t, refusing duplicate keys
// and nesting beyond the limit on the way.
func (d *strictDecoder) skip(t json.Token) error {
	switch t {
	case json.Delim('{'):
		if err := d.enter(); err != nil {
			return err
		}
		var seen keySet
		for {
			k, err := d.next()
			if err != nil {
				return err
			}
			if k == json.Delim('}') {
				d.depth--
				return nil
			}
			key, _ := k.(string)
			if seen.add(key) {
				return BadRequest("duplicate key %q", clipKey(key))
			}
			v, err := d.next()
			if err != nil {
				return err
			}
			if err := d.skip(v); err != nil {
				return err
			}
		}
	case json.Delim('['):
		if err := d.enter(); err != nil {
			return err
		}
		for {
			v, err := d.next()
			if err != nil {
				return err
			}
			if v == json.Delim(']') {
				d.depth--
				return nil
			}
			if err := d.skip(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// opaque checks a value with skip and hands its bytes to encoding/json: for
// json.RawMessage, interface values and types with their own decoding.
func (d *strictDecoder) opaque(t json.Token, rv reflect.Value, path string) error {
	// The value starts after what preceded its first token: blanks and the
	// ':' or ',' the tokenizer consumed with it.
	raw := bytes.TrimLeft(d.data[d.before:], " \t\r\n:,")
	start := int64(len(d.data) - len(raw))
	if err := d.skip(t); err != nil {
		return err
	}
	raw = d.data[start:d.dec.InputOffset()]
	if err := json.Unmarshal(raw, rv.Addr().Interface()); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return typeError(path, rv.Type())
		}
		if path == "" {
			return BadRequest("the request body is not valid")
		}
		return BadRequest("field %q is not valid", path)
	}
	return nil
}

// keySet holds the keys of one object: a short list, as request objects
// have few keys, and a map past that.
type keySet struct {
	list []string
	m    map[string]struct{}
}

// add records key and reports whether it was there already.
func (k *keySet) add(key string) bool {
	if k.m != nil {
		if _, dup := k.m[key]; dup {
			return true
		}
		k.m[key] = struct{}{}
		return false
	}
	for _, o := range k.list {
		if o == key {
			return true
		}
	}
	if len(k.list) < 16 {
		k.list = append(k.list, key)
		return false
	}
	k.m = make(map[string]struct{}, 2*len(k.list))
	for _, o := range k.list {
		k.m[o] = struct{}{}
	}
	k.m[key] = struct{}{}
	return false
}

// clipKey bounds a client-supplied key echoed in a description.
func clipKey(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// structField is one decodable field of a struct.
type structField struct {
	index     []int
	base64url bool
}

// structFields are a struct's fields by exact JSON name, and their names
// by lower-cased JSON name (to name the right case in an error).
type structFields struct {
	byName map[string]structField
	folded map[string]string
}

var fieldCache sync.Map // reflect.Type -> *structFields

// fieldsOf lists the JSON fields of a struct type as encoding/json names
// them: the json tag's name, else the Go name; "-" is skipped; fields of
// embedded structs without a name are promoted.
func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	fs := &structFields{byName: map[string]structField{}, folded: map[string]string{}}
	collectFields(t, nil, fs)
	fieldCache.Store(t, fs)
	return fs
}

func collectFields(t reflect.Type, prefix []int, fs *structFields) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		index := append(append([]int(nil), prefix...), i)
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collectFields(ft, index, fs)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if _, dup := fs.byName[name]; dup {
			continue // the shallower field wins, as in encoding/json
		}
		fs.byName[name] = structField{index: index, base64url: HasTagOption(sf.Tag.Get("api"), TagBase64URL)}
		fs.folded[strings.ToLower(name)] = name
	}
}

// HasTagOption reports whether the comma-separated tag holds opt, alone or
// as opt=value.
func HasTagOption(tag, opt string) bool {
	for tag != "" {
		var o string
		o, tag, _ = strings.Cut(tag, ",")
		if o == opt || strings.HasPrefix(o, opt+"=") {
			return true
		}
	}
	return false
}

// fieldByIndex walks to a (possibly promoted) field, allocating nil
// embedded pointers on the way.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, BadRequest("the request body cannot be decoded")
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}
