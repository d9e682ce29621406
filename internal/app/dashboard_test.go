package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"edge/internal/dashboard"
)

// TestDashboardEndpoints checks the wiring of /stats and /dashboard: the
// token guard for reads, and the node's sources (upstream servers, sales,
// config, Redis) beside the numbers from its metrics.
func TestDashboardEndpoints(t *testing.T) {
	t.Parallel()
	origin := startOrigin(t)
	cases := []struct {
		name       string
		guardReads string
		noToken    int // status of /stats without the token
	}{
		{"reads open", "false", 200},
		{"reads guarded", "true", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pub, adm, a := startNode(t, `listen: %s
admin: {listen: %s, token: s3cret, guard_reads: `+tc.guardReads+`}
upstreams:
  shop: {servers: [%s], timeout: 2s}
routes:
  - name: item
    match: {path: /item/}
    upstream: shop
  - name: order
    match: {path_exact: /order, methods: [POST]}
    upstream: shop
    item: {query: item}
    stock: {}
sales:
  - {name: phone, item: "42", stock: 7}
`, origin)
			if code, _ := do(t, "GET", "http://"+pub+"/item/1", ""); code != 200 {
				t.Fatalf("item: %d", code)
			}
			if code, body := do(t, "GET", "http://"+adm+"/dashboard", ""); code != 200 || !strings.Contains(body, "<svg id=\"funnel\"") {
				t.Errorf("/dashboard without token: %d", code)
			}
			if code, _ := do(t, "GET", "http://"+adm+"/stats", ""); code != tc.noToken {
				t.Errorf("/stats without token: %d, want %d", code, tc.noToken)
			}
			if code, _ := do(t, "GET", "http://"+adm+"/stats", "Bearer wrong"); tc.noToken == 401 && code != 401 {
				t.Errorf("/stats with a wrong token: %d", code)
			}
			code, body := do(t, "GET", "http://"+adm+"/stats", "Bearer s3cret")
			if code != 200 {
				t.Fatalf("/stats: %d %s", code, body)
			}
			var st dashboard.Stats
			if err := json.Unmarshal([]byte(body), &st); err != nil {
				t.Fatal(err)
			}
			if len(st.Upstreams) != 1 || st.Upstreams[0].Name != "shop" || len(st.Upstreams[0].Servers) != 1 || st.Upstreams[0].Servers[0].Addr != origin {
				t.Errorf("upstreams %+v", st.Upstreams)
			}
			if len(st.Sales) != 1 || st.Sales[0].Name != "phone" || st.Sales[0].Stock != 7 || st.Sales[0].State != "on_sale" {
				t.Errorf("sales %+v", st.Sales)
			}
			v, _ := a.Gateway.Version()
			if st.Config.Version != v || st.Config.LastError != "" || st.Redis.Configured {
				t.Errorf("config %+v redis %+v", st.Config, st.Redis)
			}
			// /stats is a sample of /metrics: the request above may be in it
			// or not yet, never more.
			if st.Requests.Total > 1 {
				t.Errorf("requests %d, at most 1 was sent", st.Requests.Total)
			}
		})
	}
}

// TestDashboardShowsAFailedReload: a reload that fails is on the page until
// a good one replaces it.
func TestDashboardShowsAFailedReload(t *testing.T) {
	t.Parallel()
	origin := startOrigin(t)
	_, adm, a := startNode(t, nodeYAML, origin)
	a.path = t.TempDir() + "/missing.yaml"
	if err := a.Reload(); err == nil {
		t.Fatal("reload of a missing file succeeded")
	}
	// The sampler reads the error once a second: poll /stats for it.
	var st dashboard.Stats
	deadline := time.Now().Add(5 * time.Second)
	for st.Config.LastError == "" && time.Now().Before(deadline) {
		_, body := do(t, "GET", "http://"+adm+"/stats", "")
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(st.Config.LastError, "missing.yaml") || st.Config.ReloadsFailed != 1 {
		t.Errorf("config %+v", st.Config)
	}
}
