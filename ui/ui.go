package ui

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"codeberg.org/go-fonts/liberation/liberationserifregular"

	"github.com/presage-dev/presage/config"
	"github.com/presage-dev/presage/controller"
	"github.com/presage-dev/presage/schedule"
)

// Source is what the page reads of the controller (*controller.Controller).
type Source interface {
	Overview() []controller.Summary
	ServiceView(name string) (controller.ServiceView, bool)
	Watch(name string, until time.Time) bool
}

var _ Source = (*controller.Controller)(nil)

// Options configure the handler.
type Options struct {
	// Refresh is how often an open page fetches itself again; 0 means
	// DefaultRefresh.
	Refresh time.Duration
	// WatchFor is how long after a request for a service's page the
	// controller keeps copying what only that page draws; 0 means
	// DefaultWatchFor. It must outlast Refresh.
	WatchFor time.Duration
	// Logger receives the errors of rendering; nil discards.
	Logger *slog.Logger
	// Now returns the wall-clock time (tests); nil means time.Now.
	Now func() time.Time
}

// The defaults of Options.
const (
	DefaultRefresh  = 5 * time.Second
	DefaultWatchFor = time.Minute
)

//go:embed assets
var assets embed.FS

var pages = template.Must(template.New("").Funcs(funcs).ParseFS(assets, "assets/*.html"))

// Handler returns the handler of /ui, /ui/service/{name} and /ui/assets/.
// Mount it at /ui and /ui/ on a mux.
func Handler(src Source, o Options) http.Handler {
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	if o.WatchFor <= 0 {
		o.WatchFor = DefaultWatchFor
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{src: src, o: o}
	static, _ := fs.Sub(assets, "assets")
	mux := http.NewServeMux()
	mux.HandleFunc("/ui", h.overview)
	mux.HandleFunc("/ui/{$}", h.overview)
	mux.HandleFunc("/ui/service/{name}", h.service)
	mux.HandleFunc("/ui/assets/liberation-serif.ttf", serveFont)
	mux.Handle("/ui/assets/", http.StripPrefix("/ui/assets/", onlyAssets(http.FileServerFS(static))))
	return readOnly(mux)
}

type handler struct {
	src Source
	o   Options
}

// readOnly answers 405 to every method but GET and HEAD, and sets the
// headers of every answer: no caching, no framing, no sniffing, and a
// content security policy that allows the page's own script and nothing
// else (the SVG charts carry inline styles).
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: the page is read-only", http.StatusMethodNotAllowed)
			return
		}
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// serveFont serves the font gonum/plot measures the charts' text with
// (Liberation Serif, embedded in the binary for it already): a browser
// without it would draw the text in a wider font than was measured, and
// the legends and the last tick labels would run off the charts' edge.
func serveFont(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "font/ttf")
	http.ServeContent(w, r, "liberation-serif.ttf", time.Time{}, bytes.NewReader(liberationserifregular.TTF))
}

// onlyAssets serves the embedded files, not their directory listing.
func onlyAssets(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") || strings.HasSuffix(r.URL.Path, ".html") {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// row is one service of the overview.
type row struct {
	controller.Summary
	AtRisk bool
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	rows := atRiskFirst(h.src.Overview())
	h.render(w, "overview.html", map[string]any{
		"Title": "presage", "Rows": rows, "Refresh": h.o.Refresh.Milliseconds(), "Every": h.o.Refresh.String(), "Now": h.o.Now().UTC(),
	})
}

// atRiskFirst orders the services at risk first: an incident in progress,
// then by time to breach (those within the horizon), then by risk, then by
// name.
func atRiskFirst(sums []controller.Summary) []row {
	rows := make([]row, len(sums))
	for i, s := range sums {
		rows[i] = row{Summary: s, AtRisk: s.Firing || s.TimeToBreach >= 0}
	}
	rank := func(r row) int {
		switch {
		case r.Firing:
			return 0
		case r.TimeToBreach >= 0:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		if a.TimeToBreach >= 0 && b.TimeToBreach >= 0 && a.TimeToBreach != b.TimeToBreach {
			return cmp.Compare(a.TimeToBreach, b.TimeToBreach)
		}
		if c := cmp.Compare(riskOrZero(b.Risk), riskOrZero(a.Risk)); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return rows
}

func riskOrZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

func (h *handler) service(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !h.src.Watch(name, h.o.Now().Add(h.o.WatchFor)) {
		http.Error(w, "no such service", http.StatusNotFound)
		return
	}
	v, ok := h.src.ServiceView(name)
	if !ok {
		http.Error(w, "no such service", http.StatusNotFound)
		return
	}
	charts, err := serviceCharts(v)
	if err != nil {
		h.o.Logger.Error("drawing the charts of the live page", "service", name, "err", err)
		http.Error(w, "the charts could not be drawn", http.StatusInternalServerError)
		return
	}
	h.render(w, "service.html", map[string]any{
		"Title": "presage: " + name, "V": v, "Charts": charts, "Options": options(v),
		"Refresh": h.o.Refresh.Milliseconds(), "Every": h.o.Refresh.String(), "Now": h.o.Now().UTC(),
	})
}

func (h *handler) render(w http.ResponseWriter, page string, data map[string]any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, page, data); err != nil {
		h.o.Logger.Error("rendering the live page", "page", page, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// option is one row of the planner's table.
type option struct {
	Set          string
	Cost, Risk   float64
	Chosen, Kept bool
}

// maxOptions bounds the planner's table: the cheapest sets, and the
// engaged one wherever it ranks.
const maxOptions = 6

// options returns the sets the planner weighed, cheapest first: the first
// is the plan it chose, Kept marks keeping the engaged set as it is.
func options(v controller.ServiceView) []option {
	var out []option
	for i, o := range v.Options {
		if i >= maxOptions && !o.Engaged {
			continue
		}
		out = append(out, option{Set: setName(o.Names), Cost: o.Cost, Risk: o.Risk, Chosen: i == 0, Kept: o.Engaged})
	}
	return out
}

func setName(names []string) string { return "{" + strings.Join(names, ", ") + "}" }

var funcs = template.FuncMap{
	"pct": func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return fmt.Sprintf("%.0f%%", 100*v)
	},
	"num": func(v float64) string {
		switch {
		case math.IsNaN(v):
			return "–"
		case math.IsInf(v, 1):
			return "unknown"
		}
		return fmt.Sprintf("%.4g", v)
	},
	"ms": func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return fmt.Sprintf("%.0f ms", 1000*v)
	},
	"ttb": func(d time.Duration) string {
		if d < 0 {
			return "–"
		}
		return d.String()
	},
	"ttbKey": func(d time.Duration) int64 {
		if d < 0 {
			return math.MaxInt64
		}
		return int64(d)
	},
	"key": func(v float64) string {
		if math.IsNaN(v) {
			return "-1"
		}
		return fmt.Sprintf("%g", v)
	},
	"at": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"set": setName,
	"windows": func(ws []schedule.Window) string {
		var parts []string
		for _, w := range ws {
			parts = append(parts, fmt.Sprintf("%s (%s) %s → %s", w.Name, w.Kind, w.Start.UTC().Format("01-02 15:04"), w.End.UTC().Format("01-02 15:04")))
		}
		if parts == nil {
			return "–"
		}
		return strings.Join(parts, "; ")
	},
	"redact": config.RedactText,
	"cost":   func(v float64) string { return fmt.Sprintf("%.1f", v) },
}
