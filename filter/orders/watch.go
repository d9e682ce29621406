package orders

import (
	"os"
	"strconv"
	"sync"
)

// watchers are the long polls of this node waiting for results, by ticket.
// A wake-up closes the channels of the ticket's watchers; a watcher then
// reads the result again.
type watchers struct {
	mu sync.Mutex
	m  map[string]map[*watcher]struct{}
}

type watcher struct {
	ch   chan struct{}
	once sync.Once
}

func (w *watcher) fire() { w.once.Do(func() { close(w.ch) }) }

func newWatchers() *watchers { return &watchers{m: map[string]map[*watcher]struct{}{}} }

// add registers a watcher of ticket.
func (ws *watchers) add(ticket string) (<-chan struct{}, func()) {
	w := &watcher{ch: make(chan struct{})}
	ws.mu.Lock()
	set := ws.m[ticket]
	if set == nil {
		set = map[*watcher]struct{}{}
		ws.m[ticket] = set
	}
	set[w] = struct{}{}
	ws.mu.Unlock()
	return w.ch, func() {
		ws.mu.Lock()
		if set := ws.m[ticket]; set != nil {
			delete(set, w)
			if len(set) == 0 {
				delete(ws.m, ticket)
			}
		}
		ws.mu.Unlock()
	}
}

// wake fires the watchers of ticket.
func (ws *watchers) wake(ticket string) {
	ws.mu.Lock()
	for w := range ws.m[ticket] {
		w.fire()
	}
	ws.mu.Unlock()
}

// wakeAll fires every watcher (announcements may have been missed).
func (ws *watchers) wakeAll() {
	ws.mu.Lock()
	for _, set := range ws.m {
		for w := range set {
			w.fire()
		}
	}
	ws.mu.Unlock()
}

// consumerName returns a name unique to this process: host, pid and a
// random suffix (pids repeat across containers).
func consumerName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "edge"
	}
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + NewTicket()[:6]
}
