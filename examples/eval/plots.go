package main

import (
	"path/filepath"
	"sort"

	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
	"github.com/zoomr-go/zoomr/zoomr"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plots writes the three PNG figures into o.out.
func plots(o options, rep *report, jobs []job, results []taskrun.Result) error {
	if err := budgetPlot(o, rep); err != nil {
		return err
	}
	if err := residentPlot(o, jobs, results); err != nil {
		return err
	}
	return agreePlot(o, rep)
}

func save(p *plot.Plot, o options, name string) error {
	return p.Save(7*vg.Inch, 4.5*vg.Inch, filepath.Join(o.out, name))
}

// budgetPlot: accuracy against peak resident KV, one line per bounded policy over the window sweep,
// the full cache as one point.
func budgetPlot(o options, rep *report) error {
	p := plot.New()
	p.Title.Text = "Accuracy vs resident KV budget (held-out problems)"
	p.X.Label.Text = "peak resident KV (KiB)"
	p.Y.Label.Text = "accuracy"
	p.Y.Min, p.Y.Max = 0, 1
	byPolicy := map[string]plotter.XYs{}
	var names []string
	for _, s := range rep.BudgetSweep {
		if _, ok := byPolicy[s.Policy]; !ok {
			names = append(names, s.Policy)
		}
		byPolicy[s.Policy] = append(byPolicy[s.Policy], plotter.XY{X: float64(s.PeakResidentBytes) / 1024, Y: s.Accuracy})
	}
	var args []any
	for _, n := range names {
		xy := byPolicy[n]
		sort.Slice(xy, func(i, j int) bool { return xy[i].X < xy[j].X })
		args = append(args, n, xy)
	}
	for _, pr := range rep.Policies {
		if pr.Name == zoomr.PolicyFull {
			args = append(args, "full", plotter.XYs{{X: float64(pr.PeakResidentBytes) / 1024, Y: pr.Accuracy}})
		}
	}
	if len(args) == 0 {
		return nil
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	return save(p, o, "accuracy_vs_budget.png")
}

// residentPlot: resident KV bytes after every generated token, for the first problem of each policy.
func residentPlot(o options, jobs []job, results []taskrun.Result) error {
	p := plot.New()
	p.Title.Text = "Resident KV while decoding one held-out problem"
	p.X.Label.Text = "generated tokens"
	p.Y.Label.Text = "resident KV (KiB)"
	p.Legend.Top, p.Legend.Left = true, true
	var args []any
	for k, j := range jobs {
		if !j.keep || len(results[k].Trace) == 0 {
			continue
		}
		xy := make(plotter.XYs, len(results[k].Trace))
		for i, t := range results[k].Trace {
			xy[i] = plotter.XY{X: float64(i + 1), Y: float64(t.Stats.ResidentBytes) / 1024}
		}
		args = append(args, string(j.policy), xy)
	}
	if len(args) == 0 {
		return nil
	}
	if err := plotutil.AddLines(p, args...); err != nil {
		return err
	}
	return save(p, o, "resident_vs_tokens.png")
}

// agreePlot: ZoomR's mean agreeability at each re-selection, for right and wrong answers.
func agreePlot(o options, rep *report) error {
	p := plot.New()
	p.Title.Text = "ZoomR agreeability over re-selections"
	p.X.Label.Text = "re-selection (seals, answer marker, restated question)"
	p.Y.Label.Text = "mean agreeability"
	p.Y.Min, p.Y.Max = 0, 1
	var args []any
	for _, g := range []string{"correct", "wrong"} {
		a, ok := rep.Agreeability[g]
		if !ok {
			continue
		}
		xy := make(plotter.XYs, len(a.ByIndex))
		for i, v := range a.ByIndex {
			xy[i] = plotter.XY{X: float64(i + 1), Y: v}
		}
		args = append(args, g, xy)
	}
	if len(args) == 0 {
		return nil
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	return save(p, o, "agreeability.png")
}
