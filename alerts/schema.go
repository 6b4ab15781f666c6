package alerts

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// RecordSchema is the JSON Schema (draft 2020-12) of an alert record, the
// file alerts/schema/alert.schema.json.
//
//go:embed schema/alert.schema.json
var RecordSchema []byte

// ErrInvalidRecord is returned for a record that does not match RecordSchema.
var ErrInvalidRecord = errors.New("alerts: invalid record")

const schemaURL = "https://github.com/streamwatch/streamwatch/alerts/schema/alert.schema.json"

var recordSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(RecordSchema))
	if err != nil {
		return nil, fmt.Errorf("alerts: parse record schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // draft 2020-12 only annotates "format" by default
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("alerts: load record schema: %w", err)
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("alerts: compile record schema: %w", err)
	}
	return s, nil
})

// ValidateRecordJSON checks one JSON-encoded alert record against
// RecordSchema. The error wraps ErrInvalidRecord and names every offending
// field by its JSON pointer (/evidence/0/box/x), on one line.
func ValidateRecordJSON(data []byte) error {
	s, err := recordSchema()
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: not JSON: %w", ErrInvalidRecord, err)
	}
	err = s.Validate(v)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		var msgs []string
		collectLeaves(ve, &msgs)
		return fmt.Errorf("%w: %s", ErrInvalidRecord, strings.Join(msgs, "; "))
	}
	return err
}

// collectLeaves gathers the innermost causes: the outer ones only say that a
// $ref or the whole document failed.
func collectLeaves(e *jsonschema.ValidationError, msgs *[]string) {
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			collectLeaves(c, msgs)
		}
		return
	}
	msg := e.ErrorKind.LocalizedString(english)
	if len(e.InstanceLocation) > 0 { // at the root, the message names the property
		var ptr strings.Builder
		for _, tok := range e.InstanceLocation {
			ptr.WriteByte('/')
			ptr.WriteString(strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1"))
		}
		msg = ptr.String() + ": " + msg
	}
	*msgs = append(*msgs, msg)
}

var english = message.NewPrinter(language.English)
