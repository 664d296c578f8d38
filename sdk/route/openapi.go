package route

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OpenAPIVersion is the version of the OpenAPI specification the documents
// follow.
const OpenAPIVersion = "3.1.0"

// ErrorSchemaName is the component every document defines for the
// platform's error shape; the gateway merges the documents on it.
const ErrorSchemaName = "Error"

// The document model: only what the generator emits, in the field order of
// the specification.
type (
	document struct {
		OpenAPI    string              `json:"openapi"`
		Info       info                `json:"info"`
		Paths      map[string]pathItem `json:"paths"`
		Components components          `json:"components"`
	}
	info struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description,omitempty"`
	}
	components struct {
		Schemas map[string]*schema `json:"schemas"`
	}
	pathItem  map[string]*operation // lower-case method -> operation
	operation struct {
		OperationID string               `json:"operationId"`
		Summary     string               `json:"summary,omitempty"`
		Description string               `json:"description,omitempty"`
		Parameters  []parameter          `json:"parameters,omitempty"`
		RequestBody *requestBody         `json:"requestBody,omitempty"`
		Responses   map[string]*response `json:"responses"`
	}
	parameter struct {
		Name        string  `json:"name"`
		In          string  `json:"in"`
		Required    bool    `json:"required,omitempty"`
		Description string  `json:"description,omitempty"`
		Schema      *schema `json:"schema"`
	}
	requestBody struct {
		Required bool                 `json:"required"`
		Content  map[string]mediaType `json:"content"`
	}
	mediaType struct {
		Schema *schema `json:"schema,omitempty"`
	}
	response struct {
		Description string               `json:"description"`
		Content     map[string]mediaType `json:"content,omitempty"`
	}
	schema struct {
		Ref                  string             `json:"$ref,omitempty"`
		Type                 any                `json:"type,omitempty"` // a name or a list of names
		Format               string             `json:"format,omitempty"`
		Description          string             `json:"description,omitempty"`
		Enum                 []string           `json:"enum,omitempty"`
		Minimum              *float64           `json:"minimum,omitempty"`
		Maximum              *float64           `json:"maximum,omitempty"`
		MinLength            *int               `json:"minLength,omitempty"`
		MaxLength            *int               `json:"maxLength,omitempty"`
		Pattern              string             `json:"pattern,omitempty"`
		ContentEncoding      string             `json:"contentEncoding,omitempty"`
		MinItems             *int               `json:"minItems,omitempty"`
		MaxItems             *int               `json:"maxItems,omitempty"`
		Items                *schema            `json:"items,omitempty"`
		Properties           map[string]*schema `json:"properties,omitempty"`
		Required             []string           `json:"required,omitempty"`
		AdditionalProperties any                `json:"additionalProperties,omitempty"`
	}
)

// errorSchema is the platform's error shape (sdk/apierror).
func errorSchema() *schema {
	return &schema{
		Type:        "object",
		Description: "The platform's error shape: a stable snake_case code, a description for humans and the request id.",
		Properties: map[string]*schema{
			"error":             {Type: "string", Description: "A stable snake_case code."},
			"error_description": {Type: "string", Description: "What went wrong, for humans; never carries secrets."},
			"request_id":        {Type: "string", Description: "The request id, as in the X-Request-Id header."},
		},
		Required:             []string{"error", "error_description"},
		AdditionalProperties: false,
	}
}

// Document returns the table's OpenAPI 3.1 document as JSON.
func (t *Table) Document() ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	doc := document{
		OpenAPI: OpenAPIVersion,
		Info:    info{Title: t.Title, Version: t.Version, Description: t.Description},
		Paths:   map[string]pathItem{},
		Components: components{Schemas: map[string]*schema{
			ErrorSchemaName: errorSchema(),
		}},
	}
	self := Raw(http.MethodGet, t.DocumentPath(), "", "application/json", nil).
		Doc("This API's OpenAPI document", "The OpenAPI 3.1 document generated from the plugin's route table.")
	for _, rt := range append([]Route{self}, t.Routes...) {
		item := doc.Paths[rt.path]
		if item == nil {
			item = pathItem{}
			doc.Paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = t.operation(rt)
	}
	return json.MarshalIndent(doc, "", "  ")
}

// operationID is a stable id from the method and the path:
// "post_crypto_encrypt", "get_keys_id".
func operationID(rt Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.method))
	for _, r := range rt.path {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		case r == '/' || r == '-' || r == '.' || r == '_':
			b.WriteByte('_')
		}
	}
	return strings.TrimRight(b.String(), "_")
}

func errorRef() *schema { return &schema{Ref: "#/components/schemas/" + ErrorSchemaName} }

func (t *Table) operation(rt Route) *operation {
	op := &operation{
		OperationID: operationID(rt), Summary: rt.summary, Description: rt.description,
		Responses: map[string]*response{},
	}
	if rt.method == http.MethodGet {
		op.Description = strings.TrimSpace(op.Description + "\n\nHEAD answers as GET without the body.")
	}
	ok := &response{Description: http.StatusText(rt.status)}
	if rt.produces != "" {
		var s *schema
		switch {
		case rt.respType != nil:
			s = schemaFor(rt.respType, false, 0)
		case rt.produces == "application/json":
			s = &schema{}
		}
		ok.Content = map[string]mediaType{rt.produces: {Schema: s}}
	}
	op.Responses[strconv.Itoa(rt.status)] = ok
	if rt.reqType != nil {
		op.Parameters = parametersOf(rt.reqType)
		if rt.consumes != "" {
			op.RequestBody = &requestBody{Required: true, Content: map[string]mediaType{
				rt.consumes: {Schema: schemaFor(rt.reqType, true, 0)},
			}}
		}
	} else if rt.consumes != "" {
		op.RequestBody = &requestBody{Required: true, Content: map[string]mediaType{rt.consumes: {}}}
	}
	// Declared errors, grouped by status; any other status is still the
	// error shape.
	byStatus := map[int][]ErrorDoc{}
	var statuses []int
	for _, e := range rt.errors {
		if _, seen := byStatus[e.Status]; !seen {
			statuses = append(statuses, e.Status)
		}
		byStatus[e.Status] = append(byStatus[e.Status], e)
	}
	if rt.reqType != nil || rt.consumes != "" {
		if _, seen := byStatus[http.StatusBadRequest]; !seen {
			statuses = append(statuses, http.StatusBadRequest)
		}
		byStatus[http.StatusBadRequest] = append([]ErrorDoc{{http.StatusBadRequest, "invalid_request", "The request does not follow this description."}}, byStatus[http.StatusBadRequest]...)
	}
	slices.Sort(statuses)
	errContent := map[string]mediaType{"application/json": {Schema: errorRef()}}
	for _, st := range statuses {
		var lines []string
		for _, e := range byStatus[st] {
			lines = append(lines, "`"+e.Code+"`: "+e.Description)
		}
		op.Responses[strconv.Itoa(st)] = &response{Description: strings.Join(lines, "\n\n"), Content: errContent}
	}
	op.Responses["default"] = &response{Description: "Any other failure, in the platform's error shape.", Content: errContent}
	return op
}

// parametersOf lists the path and query fields of a request struct.
func parametersOf(t reflect.Type) []parameter {
	var ps []parameter
	for i := range structFields(t) {
		f := t.Field(i)
		a, _ := parseAPITag(f.Tag.Get("api"))
		p := parameter{Description: f.Tag.Get("doc"), Schema: fieldSchema(f, a, true, 0)}
		p.Schema.Description = ""
		switch {
		case pathName(f) != "":
			p.Name, p.In, p.Required = pathName(f), "path", true
		case queryName(f) != "":
			p.Name, p.In, p.Required = queryName(f), "query", a.required
		default:
			continue
		}
		ps = append(ps, p)
	}
	return ps
}

var timeType = reflect.TypeFor[time.Time]()
var rawType = reflect.TypeFor[json.RawMessage]()

// schemaFor describes a Go type as encoding/json writes it (response) or
// as the strict decoder reads it (request).
func schemaFor(t reflect.Type, request bool, depth int) *schema {
	if depth > 16 {
		return &schema{}
	}
	if t == timeType {
		return &schema{Type: "string", Format: "date-time"}
	}
	if t == rawType {
		return &schema{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaFor(t.Elem(), request, depth+1)
	case reflect.String:
		return &schema{Type: "string"}
	case reflect.Bool:
		return &schema{Type: "boolean"}
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return &schema{Type: "integer", Format: "int32"}
	case reflect.Int, reflect.Int64:
		return &schema{Type: "integer", Format: "int64"}
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint, reflect.Uint64:
		zero := 0.0
		return &schema{Type: "integer", Minimum: &zero}
	case reflect.Float32, reflect.Float64:
		return &schema{Type: "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &schema{Type: "string", ContentEncoding: "base64"}
		}
		return &schema{Type: "array", Items: schemaFor(t.Elem(), request, depth+1)}
	case reflect.Map:
		return &schema{Type: "object", AdditionalProperties: schemaFor(t.Elem(), request, depth+1)}
	case reflect.Struct:
		s := &schema{Type: "object", Properties: map[string]*schema{}, AdditionalProperties: false}
		addProperties(s, t, request, depth, false)
		return s
	default:
		return &schema{}
	}
}

// addProperties adds a struct's JSON fields (promoting those of embedded
// structs) to s. Fields promoted through an embedded pointer are optional:
// encoding/json leaves them out when the pointer is nil, which is how one
// answer type holds either of two shapes.
func addProperties(s *schema, t reflect.Type, request bool, depth int, optional bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" {
			if et := deref(f.Type); et.Kind() == reflect.Struct {
				addProperties(s, et, request, depth+1, optional || f.Type.Kind() == reflect.Pointer)
				continue
			}
		}
		name := jsonName(f)
		if name == "" {
			continue
		}
		if _, dup := s.Properties[name]; dup {
			continue
		}
		a, _ := parseAPITag(f.Tag.Get("api"))
		s.Properties[name] = fieldSchema(f, a, request, depth+1)
		switch {
		case request && a.required:
			s.Required = append(s.Required, name)
		case !request && !omitEmpty(f) && !optional:
			s.Required = append(s.Required, name)
			if f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Slice || f.Type.Kind() == reflect.Map {
				nullable(s.Properties[name])
			}
		}
	}
}

// nullable lets a property also be null (a nil pointer, slice or map
// written without omitempty).
func nullable(s *schema) {
	if name, ok := s.Type.(string); ok {
		s.Type = []string{name, "null"}
	}
}

// fieldSchema is the schema of one field with its tags applied.
func fieldSchema(f reflect.StructField, a apiTag, request bool, depth int) *schema {
	s := schemaFor(f.Type, request, depth)
	s.Description = f.Tag.Get("doc")
	if a.base64url {
		s.ContentEncoding = "base64url"
		s.Pattern = "^[A-Za-z0-9_-]*$"
	}
	if len(a.enum) > 0 {
		s.Enum = a.enum
	}
	s.Minimum, s.Maximum = firstOf(a.min, s.Minimum), a.max
	switch {
	case s.Type == "array":
		s.MinItems, s.MaxItems = a.minLen, a.maxLen
	case a.base64url && (a.minLen != nil || a.maxLen != nil):
		// Lengths in bytes; the text is 4/3 as long, unpadded.
		s.MinLength, s.MaxLength = encodedLen(a.minLen), encodedLen(a.maxLen)
	default:
		s.MinLength, s.MaxLength = a.minLen, a.maxLen
	}
	return s
}

func firstOf(a, b *float64) *float64 {
	if a != nil {
		return a
	}
	return b
}

func encodedLen(n *int) *int {
	if n == nil {
		return nil
	}
	l := (*n*8 + 5) / 6
	return &l
}
