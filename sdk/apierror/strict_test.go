package apierror

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

type strictInner struct {
	Name  string            `json:"name"`
	Tags  []string          `json:"tags,omitempty"`
	Attrs map[string]string `json:"attrs,omitempty"`
}

type strictBody struct {
	Algorithm string          `json:"algorithm"`
	Length    int             `json:"length"`
	Count     *uint16         `json:"count,omitempty"`
	Ratio     float64         `json:"ratio,omitempty"`
	On        bool            `json:"on,omitempty"`
	Key       []byte          `json:"key,omitempty" api:"base64url"`
	Inner     *strictInner    `json:"inner,omitempty"`
	List      []strictInner   `json:"list,omitempty"`
	Any       any             `json:"any,omitempty"`
	Raw       json.RawMessage `json:"raw,omitempty"`
	Ignored   string          `json:"-"`
	NoTag     string
}

func TestUnmarshalStrict(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // a substring of the description; "" for success
	}{
		{"ok/flat", `{"algorithm":"A","length":3}`, ""},
		{"ok/nested", `{"inner":{"name":"n","tags":["a","b"],"attrs":{"k":"v"}},"list":[{"name":"x"}]}`, ""},
		{"ok/base64url", `{"key":"_-8"}`, ""},
		{"ok/null-pointer", `{"inner":null,"count":null}`, ""},
		{"ok/raw-and-any", `{"raw": [1, {"a":"\"}"}] ,"any":{"x":[true,null]}}`, ""},
		{"ok/go-name", `{"NoTag":"x"}`, ""},
		{"ok/whitespace", " \n{ \"algorithm\" : \"A\" }\n ", ""},
		{"fail/empty", ``, "empty"},
		{"fail/blank", "  \n", "empty"},
		{"fail/truncated", `{"algorithm":`, "truncated"},
		{"fail/syntax", `{"algorithm" "A"}`, "malformed JSON at byte"},
		{"fail/two-values", `{}{}`, "exactly one"},
		{"fail/trailing-garbage", `{} x`, "exactly one"},
		{"fail/not-object", `[1,2]`, "must be a JSON object"},
		{"fail/unknown", `{"extra":1}`, `unknown field "extra"`},
		{"fail/unknown-nested", `{"inner":{"nam":"x"}}`, `unknown field "inner.nam"`},
		{"fail/dash-field", `{"Ignored":"x"}`, `unknown field "Ignored"`},
		{"fail/duplicate", `{"algorithm":"A","algorithm":"B"}`, `duplicate key "algorithm"`},
		{"fail/duplicate-nested", `{"inner":{"name":"a","name":"b"}}`, `duplicate key "inner.name"`},
		{"fail/duplicate-map", `{"inner":{"attrs":{"k":"1","k":"2"}}}`, `duplicate key "inner.attrs.k"`},
		{"fail/duplicate-in-raw", `{"raw":{"a":1,"a":2}}`, `duplicate key "a"`},
		{"fail/duplicate-in-any", `{"any":[{"a":1,"a":2}]}`, `duplicate key "a"`},
		{"fail/case", `{"Algorithm":"A"}`, `unknown field "Algorithm": keys are case-sensitive, this one is "algorithm"`},
		{"fail/case-nested", `{"inner":{"NAME":"x"}}`, `this one is "inner.name"`},
		{"fail/type-string", `{"algorithm":1}`, `field "algorithm" must be of type string`},
		{"fail/type-int", `{"length":"3"}`, `field "length" must be of type int`},
		{"fail/fraction", `{"length":1.5}`, `field "length" must be of type int`},
		{"fail/overflow", `{"count":70000}`, `field "count" must be of type uint16`},
		{"fail/negative-uint", `{"count":-1}`, `field "count" must be of type uint16`},
		{"fail/type-bool", `{"on":"true"}`, `field "on" must be of type bool`},
		{"fail/type-array", `{"list":{}}`, `field "list" must be of type []apierror.strictInner`},
		{"fail/type-element", `{"inner":{"tags":[1]}}`, `field "inner.tags[0]" must be of type string`},
		{"fail/base64-padding", `{"key":"_w=="}`, `field "key" must be base64url without padding: remove the trailing '='`},
		{"fail/base64-type", `{"key":5}`, `field "key" must be of type []uint8`},
		{"fail/deep", strings.Repeat(`{"any":`, 70) + `1` + strings.Repeat(`}`, 70), "nesting limit of 64 levels was exceeded"},
		{"fail/deep-array", `{"any":` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `}`, "nesting limit of 64 levels was exceeded"},
		{"fail/deep-truncated", strings.Repeat(`[`, 20000), "nesting limit of 64 levels was exceeded at byte 65"},
		{"fail/type-before-syntax", `{"length":"x" "y"}`, `field "length" must be of type int`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v strictBody
			err := UnmarshalStrict([]byte(tc.in), &v)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("UnmarshalStrict: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != "invalid_request" {
				t.Fatalf("err = %v, want a 400 invalid_request", err)
			}
			if !strings.Contains(e.Description, tc.want) {
				t.Fatalf("description %q lacks %q", e.Description, tc.want)
			}
		})
	}
}

func TestUnmarshalStrictValues(t *testing.T) {
	var v strictBody
	in := `{"algorithm":"A","length":-3,"count":7,"ratio":0.5,"on":true,"key":"_-8",` +
		`"inner":{"name":"n","tags":["x"],"attrs":{"a":"b"}},"list":[{"name":"l"}],` +
		`"any":{"n":1},"raw":  [1, "\"]"] ,"NoTag":"t"}`
	if err := UnmarshalStrict([]byte(in), &v); err != nil {
		t.Fatal(err)
	}
	count := uint16(7)
	want := strictBody{
		Algorithm: "A", Length: -3, Count: &count, Ratio: 0.5, On: true, Key: []byte{0xff, 0xef},
		Inner: &strictInner{Name: "n", Tags: []string{"x"}, Attrs: map[string]string{"a": "b"}},
		List:  []strictInner{{Name: "l"}}, Any: map[string]any{"n": float64(1)},
		Raw: json.RawMessage(`[1, "\"]"]`), NoTag: "t",
	}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got  %+v\nwant %+v", v, want)
	}
	var raw json.RawMessage
	if err := UnmarshalStrict([]byte(` {"a": [1,2]} `), &raw); err != nil || string(raw) != `{"a": [1,2]}` {
		t.Fatalf("raw top level: %q, %v", raw, err)
	}
}

func TestDecodeJSONLimits(t *testing.T) {
	tests := []struct {
		name, ct, body string
		status         int
	}{
		{"ok/json", "application/json", `{"algorithm":"A"}`, 0},
		{"ok/suffix", "application/problem+json", `{"algorithm":"A"}`, 0},
		{"fail/content-type", "text/plain", `{}`, http.StatusUnsupportedMediaType},
		{"fail/too-large", "", `{"algorithm":"` + strings.Repeat("A", 100) + `"}`, http.StatusRequestEntityTooLarge},
		{"fail/duplicate", "", `{"algorithm":"A","algorithm":"A"}`, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			var v strictBody
			err := DecodeJSON(r, 64, &v)
			if tc.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if e := From(err); err == nil || e.Status != tc.status {
				t.Fatalf("err = %v, want status %d", err, tc.status)
			}
		})
	}
}

// fuzzBody has no base64url field, so encoding/json can decode it too.
type fuzzBody struct {
	A string            `json:"a"`
	N int64             `json:"n"`
	F float64           `json:"f"`
	B *bool             `json:"b"`
	L []int             `json:"l"`
	M map[string]uint8  `json:"m"`
	I *fuzzBody         `json:"i"`
	X any               `json:"x"`
	R json.RawMessage   `json:"r"`
	S []map[string]bool `json:"s"`
}

// FuzzUnmarshalStrict checks the strict decoder never panics, answers every
// refusal with a 400, and accepts only what encoding/json accepts too, with
// the same result.
func FuzzUnmarshalStrict(f *testing.F) {
	for _, s := range []string{
		`{"a":"x","n":1,"f":1.5,"b":true,"l":[1,2],"m":{"k":3},"i":{"a":"y"},"x":[null],"r":{"z":1},"s":[{"t":false}]}`,
		`{"a":"x","a":"y"}`, `{"A":"x"}`, `{"i":{"i":{"i":{}}}}`, `[`, `{"r":"\"}"}`, `{"x":1e400}`,
		`{"n":9223372036854775808}`, `{"m":{"k":256}}`, `{"l":[1,"2"]}`, `{"a":"\ud800"}`, ` {} `, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var strict fuzzBody
		err := UnmarshalStrict(data, &strict)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != "invalid_request" {
				t.Fatalf("refusal is not a 400 invalid_request: %v", err)
			}
			return
		}
		var loose fuzzBody
		if err := json.Unmarshal(data, &loose); err != nil {
			t.Fatalf("strict accepted what encoding/json refuses (%v): %q", err, data)
		}
		if !reflect.DeepEqual(normalize(t, strict), normalize(t, loose)) {
			t.Fatalf("strict and encoding/json disagree on %q:\n%+v\n%+v", data, strict, loose)
		}
	})
}

// normalize compares through a re-encoding, so RawMessage spacing and nil
// versus empty containers do not matter.
func normalize(t *testing.T, v fuzzBody) any {
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
