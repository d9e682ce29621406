package dashboard

// The funnel as the dashboard draws it, top to bottom: the requests that
// arrive, then each layer with what it stopped (answered from the cache or
// refused), then what went on to the shop and what the shop accepted.
const (
	stageRequests = iota
	stageCache
	stageRefused
	stageRateLimit
	stageQuiz
	stageStock
	stageQueueFull
	stageQueued
	stageShop
	stageAccepted
	numStages
)

// Kinds of funnel stages in Stats.Funnel.
const (
	// KindIn is the requests that arrive.
	KindIn = "in"
	// KindStop is a layer that answered requests itself (cache) or refused
	// them: they go no further.
	KindStop = "stop"
	// KindPass counts requests that went on (queued, sent to the shop,
	// accepted).
	KindPass = "pass"
)

// stageKeys are the stage ids of Stats.Funnel, by index.
var stageKeys = [numStages]string{
	stageRequests:  "requests",
	stageCache:     "cache",
	stageRefused:   "refused",
	stageRateLimit: "ratelimit",
	stageQuiz:      "quiz",
	stageStock:     "stock",
	stageQueueFull: "queue_full",
	stageQueued:    "queued",
	stageShop:      "shop",
	stageAccepted:  "accepted",
}

// stageLabels are the captions the page shows. "Refused early" gathers the
// stages before the rate limits (item, identity, sale time); its reasons
// tell them apart.
var stageLabels = [numStages]string{
	stageRequests:  "Requests",
	stageCache:     "Answered from cache",
	stageRefused:   "Refused early",
	stageRateLimit: "Rate limited",
	stageQuiz:      "Quiz refused",
	stageStock:     "Sold out / limit reached",
	stageQueueFull: "Queue full",
	stageQueued:    "Queued",
	stageShop:      "Sent to the shop",
	stageAccepted:  "Orders accepted",
}

var stageKinds = [numStages]string{
	stageRequests:  KindIn,
	stageCache:     KindStop,
	stageRefused:   KindStop,
	stageRateLimit: KindStop,
	stageQuiz:      KindStop,
	stageStock:     KindStop,
	stageQueueFull: KindStop,
	stageQueued:    KindPass,
	stageShop:      KindPass,
	stageAccepted:  KindPass,
}

// stageOfRejection maps the stage label of edge_funnel_rejections_total to
// a funnel row. Stages the dashboard does not draw on their own (item,
// identity, saletime and any later addition) share the "refused" row, whose
// reasons tell them apart.
func stageOfRejection(stage string) int {
	switch stage {
	case "ratelimit":
		return stageRateLimit
	case "quiz":
		return stageQuiz
	case "stock":
		return stageStock
	case "queue":
		return stageQueueFull
	}
	return stageRefused
}
