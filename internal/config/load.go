package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Load reads the YAML configuration file at path and returns it decoded,
// completed with defaults and validated. On failure the error lists every
// problem found (see Parse); a file that cannot be read gives a wrapped
// *fs.PathError instead.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates one configuration document; name is the file
// name shown in problems (and kept in Config.File, and the base for
// relative paths inside the file).
//
// In order: the YAML is parsed; ${VAR} references in scalar values are
// expanded from the environment (see expandEnv); the document is decoded
// strictly (an unknown key is a problem); defaults are applied; everything is
// validated. The returned error joins every problem found (errors.Join of
// Error values, sorted by line); the Config is nil whenever the error is
// not.
func Parse(name string, data []byte) (*Config, error) {
	return parse(name, data, os.LookupEnv)
}

// parse is Parse with the environment as a function, for tests.
func parse(name string, data []byte, lookup func(string) (string, bool)) (*Config, error) {
	root, perr := parseYAML(name, data)
	if perr != nil {
		return nil, joinProblems([]Error{*perr})
	}
	d := newDecoder(name, lookup)
	cfg := &Config{}
	if root != nil {
		d.value(root, reflect.ValueOf(cfg).Elem(), "", root.Line)
	}
	cfg.File = name
	applyDefaults(cfg)
	errs := d.errs
	if d.budget >= 0 { // a document cut short would only give noise
		v := &validator{file: name, lines: d.lines, bad: d.bad}
		v.config(cfg)
		errs = append(errs, v.errs...)
	}
	if len(errs) > 0 {
		return nil, joinProblems(errs)
	}
	return cfg, nil
}

// parseYAML parses data into a node tree and returns the root content of
// its one document; nil for an empty document.
func parseYAML(name string, data []byte) (root *yaml.Node, problem *Error) {
	defer func() {
		// The YAML parser is third-party code fed with operator input; a
		// panic in it must not take the process down during a reload.
		if r := recover(); r != nil {
			root, problem = nil, &Error{File: name, Msg: fmt.Sprintf("invalid YAML: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(name, err)
	}
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxError(name, err)
		}
		if len(extra.Content) > 0 && !isNull(extra.Content[0]) {
			return nil, &Error{File: name, Line: extra.Line, Msg: "want one YAML document, found another one here"}
		}
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml parse error ("yaml: line 3: mapping values are
// not allowed in this context") into an Error naming the line.
func syntaxError(name string, err error) *Error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: name, Line: line, Msg: "invalid YAML: " + m[2]}
	}
	if len(msg) > 6 && msg[:6] == "yaml: " {
		msg = msg[6:]
	}
	return &Error{File: name, Msg: "invalid YAML: " + msg}
}
