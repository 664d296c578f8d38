package route

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// apiTag is a parsed `api` struct tag.
type apiTag struct {
	required  bool
	base64url bool
	enum      []string
	min, max  *float64
	minLen    *int
	maxLen    *int
}

func parseAPITag(tag string) (apiTag, error) {
	var a apiTag
	for o := range strings.SplitSeq(tag, ",") {
		name, val, hasVal := strings.Cut(strings.TrimSpace(o), "=")
		switch {
		case name == "":
		case name == "required" && !hasVal:
			a.required = true
		case name == apierror.TagBase64URL && !hasVal:
			a.base64url = true
		case name == "enum" && val != "":
			a.enum = strings.Split(val, "|")
		case name == "min" || name == "max":
			f, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return a, fmt.Errorf("%s=%q is not a number", name, val)
			}
			if name == "min" {
				a.min = &f
			} else {
				a.max = &f
			}
		case name == "minlen" || name == "maxlen":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return a, fmt.Errorf("%s=%q is not a length", name, val)
			}
			if name == "minlen" {
				a.minLen = &n
			} else {
				a.maxLen = &n
			}
		default:
			return a, fmt.Errorf("unknown option %q", o)
		}
	}
	return a, nil
}

// field sources, by tag.
func pathName(f reflect.StructField) string  { return f.Tag.Get("path") }
func queryName(f reflect.StructField) string { return f.Tag.Get("query") }

// jsonName is the field's JSON name, "" when it is not in the body.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() || pathName(f) != "" || queryName(f) != "" {
		return ""
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name
}

func omitEmpty(f reflect.StructField) bool {
	_, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
	return slices.Contains(strings.Split(opts, ","), "omitempty") || slices.Contains(strings.Split(opts, ","), "omitzero")
}

func hasJSONFields(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return true
	}
	for i := range t.NumField() {
		if jsonName(t.Field(i)) != "" {
			return true
		}
	}
	return false
}

func isNumber(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// checkRequestType refuses request structs whose tags cannot be honoured.
func checkRequestType(rt Route) error {
	t := rt.reqType
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s %s: %s", ErrTable, rt.method, rt.path, fmt.Sprintf(format, args...))
	}
	if t.Kind() != reflect.Struct {
		// The whole body, json.RawMessage say: no path or query fields.
		if !hasBody(rt.method) {
			return bad("the request type %s of a %s route must be a struct", t, rt.method)
		}
		if segs, _ := parseTemplate(rt.path); slices.ContainsFunc(segs, func(s segment) bool { return s.param != "" }) {
			return bad("a path with parameters needs a request struct with path fields")
		}
		return nil
	}
	if !hasBody(rt.method) && hasJSONFields(t) {
		return bad("a %s request has no body: tag its fields path or query, or json:\"-\"", rt.method)
	}
	segs, _ := parseTemplate(rt.path)
	params := map[string]bool{}
	for _, s := range segs {
		if s.param != "" {
			params[s.param] = false
		}
	}
	if err := checkFields(t, bad, params, 0); err != nil {
		return err
	}
	for name, found := range params {
		if !found {
			return bad("path parameter {%s} has no field tagged path:%q", name, name)
		}
	}
	return nil
}

func checkFields(t reflect.Type, bad func(string, ...any) error, params map[string]bool, depth int) error {
	if depth > 8 {
		return nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		a, err := parseAPITag(f.Tag.Get("api"))
		if err != nil {
			return bad("field %s: api tag: %v", f.Name, err)
		}
		ft := deref(f.Type)
		if p, q := pathName(f), queryName(f); p != "" || q != "" {
			if f.Tag.Get("json") != "-" {
				return bad("field %s is a path or query parameter and must be tagged json:\"-\"", f.Name)
			}
			if depth > 0 {
				return bad("field %s: path and query parameters belong to the request struct itself", f.Name)
			}
			if !isNumber(ft.Kind()) && ft.Kind() != reflect.String && ft.Kind() != reflect.Bool {
				return bad("parameter field %s must be a string, a number or a bool", f.Name)
			}
			if p != "" {
				if _, ok := params[p]; !ok {
					return bad("field %s names path parameter {%s}, which the path lacks", f.Name, p)
				}
				params[p] = true
			}
		}
		if a.base64url && !(ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Uint8) && ft.Kind() != reflect.String {
			return bad("field %s: base64url needs a []byte or string field", f.Name)
		}
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Uint8 && !a.base64url && jsonName(f) != "" {
			return bad("field %s: a []byte field must be tagged api:\"base64url\"", f.Name)
		}
		if a.enum != nil && ft.Kind() != reflect.String {
			return bad("field %s: enum needs a string field", f.Name)
		}
		if (a.min != nil || a.max != nil) && !isNumber(ft.Kind()) {
			return bad("field %s: min and max need a number field", f.Name)
		}
		switch ft.Kind() {
		case reflect.Struct:
			if err := checkFields(ft, bad, params, depth+1); err != nil {
				return err
			}
		case reflect.Slice, reflect.Map:
			if et := deref(ft.Elem()); et.Kind() == reflect.Struct {
				if err := checkFields(et, bad, params, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func contextWithParams(r *http.Request, params map[string]string) context.Context {
	return context.WithValue(r.Context(), paramsKey{}, params)
}

// decodeQuery parses the query string strictly: valid, only the declared
// parameters, each at most once, each of its field's type.
func decodeQuery(r *http.Request, req reflect.Value) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return apierror.BadRequest("malformed query string")
	}
	t := req.Type()
	declared := map[string]int{}
	for i := range structFields(t) {
		if n := queryName(t.Field(i)); n != "" {
			declared[n] = i
		}
	}
	for k, vs := range q {
		if _, ok := declared[k]; !ok {
			return apierror.BadRequest("unknown query parameter %q", clip(k))
		}
		if len(vs) > 1 {
			return apierror.BadRequest("query parameter %q given more than once", k)
		}
	}
	for i := range structFields(t) {
		f := t.Field(i)
		name := queryName(f)
		if name == "" {
			continue
		}
		vs, ok := q[name]
		if !ok {
			if a, _ := parseAPITag(f.Tag.Get("api")); a.required {
				return apierror.BadRequest("query parameter %q is required", name)
			}
			continue
		}
		if err := setParam(req.Field(i), vs[0], "query parameter "+strconv.Quote(name)); err != nil {
			return err
		}
	}
	return nil
}

// decodePath sets the fields tagged path from the matched route.
func decodePath(r *http.Request, req reflect.Value) error {
	t := req.Type()
	for i := range structFields(t) {
		name := pathName(t.Field(i))
		if name == "" {
			continue
		}
		if err := setParam(req.Field(i), PathValue(r, name), "path parameter "+strconv.Quote(name)); err != nil {
			return err
		}
	}
	return nil
}

// setParam parses a path or query value into a field: integers are
// -?(0|[1-9][0-9]*) (no '+', spaces, "-0", hex or overflow), booleans
// "true" or "false".
func setParam(v reflect.Value, s, what string) error {
	if v.Kind() == reflect.Pointer {
		v.Set(reflect.New(v.Type().Elem()))
		v = v.Elem()
	}
	switch k := v.Kind(); {
	case k == reflect.String:
		v.SetString(s)
	case k == reflect.Bool:
		switch s {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return apierror.BadRequest("%s must be true or false", what)
		}
	case k >= reflect.Int && k <= reflect.Int64:
		if !isStrictInt(s) {
			return apierror.BadRequest("%s must be a decimal integer", what)
		}
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return apierror.BadRequest("%s is out of the %s range", what, v.Type())
		}
		v.SetInt(n)
	case k >= reflect.Uint && k <= reflect.Uint64:
		if !isStrictInt(s) || s[0] == '-' {
			return apierror.BadRequest("%s must be a non-negative decimal integer", what)
		}
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return apierror.BadRequest("%s is out of the %s range", what, v.Type())
		}
		v.SetUint(n)
	case k == reflect.Float32 || k == reflect.Float64:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil || strings.ContainsAny(s, " +_xXpPnNiI") {
			return apierror.BadRequest("%s must be a decimal number", what)
		}
		v.SetFloat(f)
	}
	return nil
}

// structFields is the number of fields of a struct type, 0 for any other.
func structFields(t reflect.Type) int {
	if t.Kind() != reflect.Struct {
		return 0
	}
	return t.NumField()
}

// isStrictInt reports whether s is -?(0|[1-9][0-9]*) and not "-0".
func isStrictInt(s string) bool {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || (digits[0] == '0' && (len(digits) > 1 || len(s) > 1)) {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// validate applies the `api` tags of a decoded request, in field order.
func validate(v reflect.Value, path string) error {
	t := v.Type()
	for i := range structFields(t) {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		a, _ := parseAPITag(f.Tag.Get("api"))
		var what string
		switch {
		case queryName(f) != "":
			what = "query parameter " + strconv.Quote(queryName(f))
			a.required = false // checked with the query's presence
		case pathName(f) != "":
			what = "path parameter " + strconv.Quote(pathName(f))
		case jsonName(f) != "":
			what = "field " + strconv.Quote(joinPath(path, jsonName(f)))
		default:
			continue
		}
		fv := v.Field(i)
		if err := checkValue(fv, a, what, joinPath(path, jsonName(f))); err != nil {
			return err
		}
	}
	return nil
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// checkValue applies one field's rules, then those of what it holds.
func checkValue(fv reflect.Value, a apiTag, what, path string) error {
	if a.required && fv.IsZero() {
		return apierror.BadRequest("%s is required", what)
	}
	for fv.Kind() == reflect.Pointer {
		if fv.IsNil() {
			return nil
		}
		fv = fv.Elem()
	}
	switch k := fv.Kind(); {
	case k == reflect.String:
		s := fv.String()
		if a.enum != nil && (s != "" || a.required) && !slices.Contains(a.enum, s) {
			return apierror.BadRequest("%s must be one of: %s", what, strings.Join(a.enum, ", "))
		}
		if err := checkLen(utf8.RuneCountInString(s), a, what, "characters"); err != nil {
			return err
		}
	case k == reflect.Slice && fv.Type().Elem().Kind() == reflect.Uint8:
		if err := checkLen(fv.Len(), a, what, "bytes"); err != nil {
			return err
		}
	case k == reflect.Slice:
		if err := checkLen(fv.Len(), a, what, "items"); err != nil {
			return err
		}
		if deref(fv.Type().Elem()).Kind() == reflect.Struct {
			for i := range fv.Len() {
				ev := fv.Index(i)
				for ev.Kind() == reflect.Pointer && !ev.IsNil() {
					ev = ev.Elem()
				}
				if ev.Kind() == reflect.Struct {
					if err := validate(ev, path+"["+strconv.Itoa(i)+"]"); err != nil {
						return err
					}
				}
			}
		}
	case k == reflect.Struct:
		return validate(fv, path)
	case isNumber(k):
		var f float64
		var shown string
		switch {
		case k >= reflect.Int && k <= reflect.Int64:
			f, shown = float64(fv.Int()), strconv.FormatInt(fv.Int(), 10)
		case k >= reflect.Uint && k <= reflect.Uint64:
			f, shown = float64(fv.Uint()), strconv.FormatUint(fv.Uint(), 10)
		default:
			f, shown = fv.Float(), strconv.FormatFloat(fv.Float(), 'g', -1, 64)
		}
		if (a.min != nil && f < *a.min) || (a.max != nil && f > *a.max) {
			switch {
			case a.min != nil && a.max != nil:
				return apierror.BadRequest("%s must be between %s and %s, got %s", what, num(*a.min), num(*a.max), shown)
			case a.min != nil:
				return apierror.BadRequest("%s must be at least %s, got %s", what, num(*a.min), shown)
			default:
				return apierror.BadRequest("%s must be at most %s, got %s", what, num(*a.max), shown)
			}
		}
	}
	return nil
}

func checkLen(n int, a apiTag, what, unit string) error {
	if a.minLen != nil && n < *a.minLen {
		return apierror.BadRequest("%s must be at least %d %s, got %d", what, *a.minLen, unit, n)
	}
	if a.maxLen != nil && n > *a.maxLen {
		return apierror.BadRequest("%s must be at most %d %s, got %d", what, *a.maxLen, unit, n)
	}
	return nil
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// clip bounds client-supplied text echoed in an error description.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
