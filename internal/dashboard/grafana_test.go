package dashboard

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const grafanaFile = "../../configs/grafana-dashboard.json"

type grafanaDashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	SchemaVersion int            `json:"schemaVersion"`
	UID           string         `json:"uid"`
	Title         string         `json:"title"`
	Panels        []grafanaPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string            `json:"name"`
			Datasource map[string]string `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type grafanaPanel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource map[string]string        `json:"datasource"`
	GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
	Targets    []struct {
		Expr         string            `json:"expr"`
		LegendFormat string            `json:"legendFormat"`
		RefID        string            `json:"refId"`
		Datasource   map[string]string `json:"datasource"`
	} `json:"targets"`
}

// TestGrafanaDashboard checks configs/grafana-dashboard.json imports as
// is: well-formed, one Prometheus datasource input used everywhere, a
// layout that fits, queries over metrics the code registers, and the
// dashboard page's funnel.
func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(grafanaFile)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", grafanaFile, err)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs: %+v, want one prometheus datasource DS_PROMETHEUS", d.Inputs)
	}
	if d.SchemaVersion < 36 || d.UID == "" || d.Title == "" {
		t.Errorf("schemaVersion %d uid %q title %q", d.SchemaVersion, d.UID, d.Title)
	}
	const ds = "${DS_PROMETHEUS}"
	for _, v := range d.Templating.List {
		if v.Datasource != nil && v.Datasource["uid"] != ds {
			t.Errorf("variable %s: datasource %v", v.Name, v.Datasource)
		}
	}

	known := registeredMetrics(t)
	metricRE := regexp.MustCompile(`\bedge_[a-z0-9_]+`)
	ids := map[int]bool{}
	var cells [][24]bool
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 || g.Y < 0 {
			t.Errorf("panel %q: gridPos %+v", p.Title, g)
			continue
		}
		for len(cells) < g.Y+g.H {
			cells = append(cells, [24]bool{})
		}
		for y := g.Y; y < g.Y+g.H; y++ {
			for x := g.X; x < g.X+g.W; x++ {
				if cells[y][x] {
					t.Errorf("panel %q overlaps another at %d,%d", p.Title, x, y)
				}
				cells[y][x] = true
			}
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource["uid"] != ds || len(p.Targets) == 0 {
			t.Errorf("panel %q: datasource %v, %d targets", p.Title, p.Datasource, len(p.Targets))
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.Datasource["uid"] != ds || tg.RefID == "" || refs[tg.RefID] || !balanced(tg.Expr) {
				t.Errorf("panel %q target %s: datasource %v, expr %q", p.Title, tg.RefID, tg.Datasource, tg.Expr)
			}
			refs[tg.RefID] = true
			for _, m := range metricRE.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
				if !known[base] {
					t.Errorf("panel %q queries %s, which no package registers", p.Title, m)
				}
			}
		}
	}

	// The same funnel as the page, in the same order.
	var funnel *grafanaPanel
	for i := range d.Panels {
		if d.Panels[i].Type == "bargauge" && strings.HasPrefix(d.Panels[i].Title, "Funnel") {
			funnel = &d.Panels[i]
		}
	}
	if funnel == nil || len(funnel.Targets) != numStages {
		t.Fatalf("no funnel bar gauge with %d rows", numStages)
	}
	for i, tg := range funnel.Targets {
		if tg.LegendFormat != stageLabels[i] {
			t.Errorf("funnel row %d: %q, the page says %q", i, tg.LegendFormat, stageLabels[i])
		}
	}
}

// registeredMetrics collects the edge_* names that appear as string
// literals in the module's non-test Go files: the metrics some package
// registers.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	re := regexp.MustCompile(`"(edge_[a-z0-9_]+)"`)
	known := map[string]bool{}
	err := filepath.WalkDir("../..", func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && (e.Name() == ".git" || e.Name() == "bin" || e.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if e.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			known[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return known
}

// balanced reports whether (), [] and {} pair up outside quoted strings.
func balanced(expr string) bool {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inQuote := false
	for _, r := range expr {
		switch {
		case r == '"':
			inQuote = !inQuote
		case inQuote:
		case r == '(' || r == '[' || r == '{':
			stack = append(stack, r)
		case pairs[r] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0 && !inQuote && strings.TrimSpace(expr) != ""
}
