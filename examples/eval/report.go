package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/zoomr"
)

// policyReport is one policy's row (the main run, window taskrun.Window).
type policyReport struct {
	Name           string  `json:"name"`
	Accuracy       float64 `json:"accuracy"`
	AccuracyDetail float64 `json:"accuracy_detail"` // note questions: the detail lives in one thought body
	AccuracyValue  float64 `json:"accuracy_value"`  // value questions: a summary holds the answer
	// Recall*: answers right about the model's own trace (task.Problem.Recalled).
	Recall            float64 `json:"recall_accuracy"`
	RecallDetail      float64 `json:"recall_accuracy_detail"`
	RecallValue       float64 `json:"recall_accuracy_value"`
	PeakResidentBytes int64   `json:"peak_resident_bytes"`
	PeakHostBytes     int64   `json:"peak_host_bytes"`
	TokensPerS        float64 `json:"tokens_per_s"`
	N                 int     `json:"n"`
	NDetail           int     `json:"n_detail"`
	MeanTokens        float64 `json:"mean_generated_tokens"`
	// Finished is the share of generations that reached the answer and stopped at EOS.
	Finished float64 `json:"finished"`
	// WellFormed is the share of answers in the question's form, right or wrong
	// (task.Problem.WellFormed): the rest answered another question or ran on.
	WellFormed       float64 `json:"answer_well_formed"`
	WellFormedDetail float64 `json:"answer_well_formed_detail"`
	WellFormedValue  float64 `json:"answer_well_formed_value"`
	// ExactTrace is the share of generations whose trace is the reference trace word for word;
	// ExactPrefix the mean share of the reference trace written before the first divergence.
	ExactTrace  float64 `json:"exact_trace"`
	ExactPrefix float64 `json:"mean_exact_prefix"`
	// FirstDivergence: the share of generations whose trace first left the reference at a word of
	// each role (task.Role names: "key" = the header's prompt lookup, "move" = a walk step, …).
	FirstDivergence map[string]float64 `json:"first_divergence"`
	// RecallByDistance: recall by how far back the asked-about thought lies (task.Problem.Target is
	// the number of thoughts written after it), in buckets of distanceBucket thoughts.
	RecallByDistance []distanceRecall `json:"recall_by_distance"`
}

// distanceBucket is the width, in thoughts, of a recall-by-distance bucket.
const distanceBucket = 4

// distanceRecall is the recall of the questions about thoughts From..To thoughts before the answer.
type distanceRecall struct {
	From   int     `json:"from"`
	To     int     `json:"to"`
	Note   float64 `json:"note"`
	NNote  int     `json:"n_note"`
	Value  float64 `json:"value"`
	NValue int     `json:"n_value"`
}

// sweepPoint is one (policy, window) point of the accuracy-vs-budget sweep.
type sweepPoint struct {
	Policy            string  `json:"policy"`
	Window            int     `json:"window"`
	PeakResidentBytes int64   `json:"peak_resident_bytes"`
	Accuracy          float64 `json:"accuracy"`
	AccuracyDetail    float64 `json:"accuracy_detail"`
	N                 int     `json:"n"`
}

// agreeStats describe ZoomR's agreeability over the re-selections of one group of generations.
type agreeStats struct {
	Generations int       `json:"generations"`
	Mean        float64   `json:"mean"`
	Std         float64   `json:"std"`            // over all re-selections of the group
	MeanStd     float64   `json:"mean_std"`       // mean over generations of each one's std (steadiness)
	AtAnswer    float64   `json:"mean_at_answer"` // at the last re-selection (the restated question)
	ByIndex     []float64 `json:"by_index"`       // mean at the i-th re-selection
}

type report struct {
	Model    string         `json:"model"`
	Problems int            `json:"problems"`
	Config   map[string]int `json:"config"`
	// AnswerGrammar: answers were constrained to the question form's schema (-answer-grammar).
	AnswerGrammar bool                  `json:"answer_grammar"`
	Policies      []policyReport        `json:"policies"`
	BudgetSweep   []sweepPoint          `json:"budget_sweep,omitempty"`
	Agreeability  map[string]agreeStats `json:"agreeability,omitempty"` // ZoomR: "correct", "wrong"
}

func buildReport(o options, jobs []job, results []taskrun.Result, _ int) *report {
	summaryCap := taskrun.SummaryCap
	if o.summaryCap > 0 {
		summaryCap = o.summaryCap // a long-scale model's
	}
	rep := &report{Model: o.model, Problems: o.n, Config: map[string]int{"window": taskrun.Window, "zoom": taskrun.Zoom,
		"zoom_slot_len": taskrun.ZoomSlotLen, "summary_cap": summaryCap, "votes": 2}, AnswerGrammar: o.answerGrammar}
	type key struct {
		p string
		w int
	}
	groups := map[key][]taskrun.Result{}
	var order []key
	for k, j := range jobs {
		kk := key{j.policy, j.window}
		if _, ok := groups[kk]; !ok {
			order = append(order, kk)
		}
		groups[kk] = append(groups[kk], results[k])
	}
	for _, kk := range order {
		rs := groups[kk]
		pr := summarise(string(kk.p), rs)
		if kk.w == taskrun.Window {
			rep.Policies = append(rep.Policies, pr)
			if kk.p == zoomr.PolicyZoomR {
				rep.Agreeability = agreeability(rs)
			}
		}
		if kk.p != zoomr.PolicyFull && len(o.windows) > 0 {
			rep.BudgetSweep = append(rep.BudgetSweep, sweepPoint{Policy: pr.Name, Window: kk.w,
				PeakResidentBytes: pr.PeakResidentBytes, Accuracy: pr.Accuracy, AccuracyDetail: pr.AccuracyDetail, N: pr.N})
		}
	}
	return rep
}

func summarise(name string, rs []taskrun.Result) policyReport {
	pr := policyReport{Name: name, N: len(rs)}
	var right, recall, wellFormed tally
	var finished, tokens, exact int
	var seconds, prefix float64
	diverged := map[string]int{}
	for _, r := range rs {
		if d := r.Divergence; d.Exact {
			exact++
			prefix++
		} else {
			diverged[d.Role.String()]++
			prefix += float64(d.Pos) / float64(referenceLen(r.Problem))
		}
		right.add(r.Problem.Kind, r.Correct)
		recall.add(r.Problem.Kind, r.Recalled)
		if r.Problem.Kind == task.Note {
			pr.NDetail++
		}
		if r.Stats.StopReason == zoomr.StopToken && r.Answer != "" {
			finished++
		}
		wellFormed.add(r.Problem.Kind, r.Problem.WellFormed(r.Answer))
		tokens += r.Stats.Tokens
		seconds += r.Stats.DecodeSeconds
		pr.PeakResidentBytes = max(pr.PeakResidentBytes, r.Stats.PeakResidentBytes)
		pr.PeakHostBytes = max(pr.PeakHostBytes, r.Stats.PeakHostBytes)
	}
	pr.Accuracy, pr.AccuracyDetail, pr.AccuracyValue = right.shares(len(rs), pr.NDetail)
	pr.Recall, pr.RecallDetail, pr.RecallValue = recall.shares(len(rs), pr.NDetail)
	pr.WellFormed, pr.WellFormedDetail, pr.WellFormedValue = wellFormed.shares(len(rs), pr.NDetail)
	pr.Finished = ratio(finished, len(rs))
	pr.ExactTrace, pr.ExactPrefix = ratio(exact, len(rs)), prefix/max(1, float64(len(rs)))
	pr.FirstDivergence = map[string]float64{}
	for role, n := range diverged {
		pr.FirstDivergence[role] = ratio(n, len(rs))
	}
	pr.RecallByDistance = recallByDistance(rs)
	pr.MeanTokens = ratio(tokens, len(rs))
	if seconds > 0 {
		pr.TokensPerS = float64(tokens) / seconds
	}
	return pr
}

// recallByDistance buckets the recall of note and value questions by the target thought's distance
// from the answer, in thoughts: what a long-range copy costs, apart from the trace's own mistakes.
func recallByDistance(rs []taskrun.Result) []distanceRecall {
	var recalled, asked []tally // per bucket
	for _, r := range rs {
		b := r.Problem.Target / distanceBucket
		for len(asked) <= b {
			recalled, asked = append(recalled, tally{}), append(asked, tally{})
		}
		recalled[b].add(r.Problem.Kind, r.Recalled)
		asked[b].add(r.Problem.Kind, true)
	}
	out := make([]distanceRecall, len(asked))
	for b, n := range asked {
		out[b] = distanceRecall{From: b * distanceBucket, To: (b+1)*distanceBucket - 1,
			Note: ratio(recalled[b].note, n.note), NNote: n.note, Value: ratio(recalled[b].value, n.value), NValue: n.value}
	}
	return out
}

// ratio is a/b, or 0 when b is 0.
func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// referenceLen is the length of the problem's reference trace in words.
func referenceLen(p task.Problem) int {
	words, _, _ := p.ReferenceTrace()
	return len(words)
}

// tally counts true outcomes (right, recalled, well formed) overall and per question kind.
type tally struct{ all, note, value int }

// shares divides the counts by the n generations, nNote of them note questions.
func (t tally) shares(n, nNote int) (all, note, value float64) {
	return ratio(t.all, n), ratio(t.note, nNote), ratio(t.value, n-nNote)
}

func (t *tally) add(k task.Kind, ok bool) {
	if !ok {
		return
	}
	t.all++
	if k == task.Note {
		t.note++
	} else {
		t.value++
	}
}

// agreeability groups ZoomR's per-re-selection agreeability by the answer's correctness.
func agreeability(rs []taskrun.Result) map[string]agreeStats {
	out := map[string]agreeStats{}
	for _, group := range []string{"correct", "wrong"} {
		var all, stds, atAnswer []float64
		var byIndex [][]float64
		n := 0
		for _, r := range rs {
			if r.Correct != (group == "correct") || len(r.Stats.Agreeabilities) == 0 {
				continue
			}
			n++
			a := r.Stats.Agreeabilities
			all = append(all, a...)
			_, s := meanStd(a)
			stds = append(stds, s)
			atAnswer = append(atAnswer, a[len(a)-1])
			for i, v := range a {
				for len(byIndex) <= i {
					byIndex = append(byIndex, nil)
				}
				byIndex[i] = append(byIndex[i], v)
			}
		}
		if n == 0 {
			continue
		}
		st := agreeStats{Generations: n}
		st.Mean, st.Std = meanStd(all)
		st.MeanStd, _ = meanStd(stds)
		st.AtAnswer, _ = meanStd(atAnswer)
		for _, vs := range byIndex {
			m, _ := meanStd(vs)
			st.ByIndex = append(st.ByIndex, m)
		}
		out[group] = st
	}
	return out
}

func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)))
}

func (r *report) write(o options) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "eval.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	if o.asJSON {
		if _, err := os.Stdout.Write(append(data, '\n')); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(o.out, "eval.md"), []byte(r.markdown()), 0o644)
}

// markdown is the results table (and the agreeability summary).
func (r *report) markdown() string {
	var b strings.Builder
	var full int64
	for _, p := range r.Policies {
		if p.Name == zoomr.PolicyFull {
			full = p.PeakResidentBytes
		}
	}
	fmt.Fprintf(&b, "Held-out problems: %d per policy (%s; window %d, zoom %d×%d, summary region %d, k=%d votes)\n\n",
		r.Problems, r.Model, r.Config["window"], r.Config["zoom"], r.Config["zoom_slot_len"], r.Config["summary_cap"], r.Config["votes"])
	if r.AnswerGrammar {
		b.WriteString("Answers constrained to the question form's schema (`-answer-grammar`, task.AnswerGrammar): the model chooses the restated question and the answer word, not the form.\n\n")
	}
	b.WriteString("| policy | accuracy | detail (note) | summary (value) | recall | recall detail | recall value | finished | answer form (note / value) | peak resident KV | vs full | tokens/s |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range r.Policies {
		ratio := "—"
		if full > 0 && p.PeakResidentBytes > 0 {
			ratio = fmt.Sprintf("%.1f× less", float64(full)/float64(p.PeakResidentBytes))
			if p.Name == zoomr.PolicyFull {
				ratio = "1×"
			}
		}
		fmt.Fprintf(&b, "| %s | %.1f%% | %.1f%% (n=%d) | %.1f%% (n=%d) | %.1f%% | %.1f%% | %.1f%% | %.0f%% | %.1f%% (%.0f%% / %.0f%%) | %.1f KiB | %s | %.0f |\n", p.Name,
			100*p.Accuracy, 100*p.AccuracyDetail, p.NDetail, 100*p.AccuracyValue, p.N-p.NDetail,
			100*p.Recall, 100*p.RecallDetail, 100*p.RecallValue, 100*p.Finished, 100*p.WellFormed, 100*p.WellFormedDetail, 100*p.WellFormedValue,
			float64(p.PeakResidentBytes)/1024, ratio, p.TokensPerS)
	}
	r.divergenceTable(&b)
	r.distanceTable(&b)
	if len(r.Agreeability) > 0 {
		b.WriteString("\nZoomR agreeability (share of head votes in the selected set) per re-selection:\n\n")
		b.WriteString("| answers | generations | mean | std over re-selections | mean per-generation std | at the restated question |\n|---|---:|---:|---:|---:|---:|\n")
		for _, g := range []string{"correct", "wrong"} {
			if a, ok := r.Agreeability[g]; ok {
				fmt.Fprintf(&b, "| %s | %d | %.3f | %.3f | %.3f | %.3f |\n", g, a.Generations, a.Mean, a.Std, a.MeanStd, a.AtAnswer)
			}
		}
	}
	if len(r.BudgetSweep) > 0 {
		b.WriteString("\nAccuracy vs resident budget (window sweep):\n\n| policy | window | peak resident KV | accuracy | detail | n |\n|---|---:|---:|---:|---:|---:|\n")
		for _, s := range r.BudgetSweep {
			fmt.Fprintf(&b, "| %s | %d | %.1f KiB | %.1f%% | %.1f%% | %d |\n", s.Policy, s.Window,
				float64(s.PeakResidentBytes)/1024, 100*s.Accuracy, 100*s.AccuracyDetail, s.N)
		}
	}
	return b.String()
}

// divergenceTable: where each policy's traces first leave the reference trace, by the role of the
// reference word there (the mistake that decides the reference grade).
func (r *report) divergenceTable(b *strings.Builder) {
	roles := task.Roles()
	b.WriteString("\nWhere the traces first leave the reference trace (share of generations; after it every word is conditioned on the mistake):\n\n")
	b.WriteString("| policy | exact trace | mean exact prefix |")
	for _, role := range roles {
		fmt.Fprintf(b, " %s |", role)
	}
	b.WriteString("\n|---|---:|---:|" + strings.Repeat("---:|", len(roles)) + "\n")
	for _, p := range r.Policies {
		fmt.Fprintf(b, "| %s | %.1f%% | %.1f%% |", p.Name, 100*p.ExactTrace, 100*p.ExactPrefix)
		for _, role := range roles {
			fmt.Fprintf(b, " %.1f%% |", 100*p.FirstDivergence[role.String()])
		}
		b.WriteString("\n")
	}
}

// distanceTable: recall (graded against the model's own trace) by how many thoughts back the
// asked-about thought lies, note and value questions apart.
func (r *report) distanceTable(b *strings.Builder) {
	buckets := 0
	for _, p := range r.Policies {
		buckets = max(buckets, len(p.RecallByDistance))
	}
	if buckets == 0 {
		return
	}
	b.WriteString("\nRecall by the asked-about thought's distance from the answer, in thoughts (note / value questions):\n\n| policy |")
	for i := range buckets {
		fmt.Fprintf(b, " %d–%d |", i*distanceBucket, (i+1)*distanceBucket-1)
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", buckets) + "\n")
	for _, p := range r.Policies {
		fmt.Fprintf(b, "| %s |", p.Name)
		for i := range buckets {
			if i >= len(p.RecallByDistance) {
				b.WriteString(" — |")
				continue
			}
			d := p.RecallByDistance[i]
			fmt.Fprintf(b, " %s / %s |", pct(d.Note, d.NNote), pct(d.Value, d.NValue))
		}
		b.WriteString("\n")
	}
}

// pct renders a share of n questions, or a dash when there were none.
func pct(x float64, n int) string {
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%% (%d)", 100*x, n)
}

// answerLine is one generation of the evaluation in OUT/answers.jsonl: what was asked, what the
// model answered and where its trace first left the reference, for reading the mistakes one by one.
type answerLine struct {
	Policy   string `json:"policy"`
	Window   int    `json:"window"`
	Problem  int    `json:"problem"` // index among the seed's held-out problems
	Prompt   string `json:"prompt"`
	Kind     string `json:"kind"` // note or value
	Step     int    `json:"step"` // the asked step: thoughts written after it
	Want     string `json:"want"`
	Got      string `json:"got"`
	Correct  bool   `json:"correct"`
	Recalled bool   `json:"recalled"`
	Exact    bool   `json:"exact_trace"`
	// Diverged: the first differing word's role, its thought and the reference and generated words.
	Diverged        string `json:"diverged,omitempty"`
	DivergedThought int    `json:"diverged_thought,omitempty"`
	DivergedWant    string `json:"diverged_want,omitempty"`
	DivergedGot     string `json:"diverged_got,omitempty"`
}

// writeAnswers writes every generation's answerLine, in job order, as JSON lines.
func writeAnswers(path string, jobs []job, results []taskrun.Result) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for k, j := range jobs {
		r := results[k]
		line := answerLine{Policy: string(j.policy), Window: j.window, Problem: j.index, Prompt: r.Problem.Prompt(),
			Kind: r.Problem.Kind.String(), Step: r.Problem.Target, Want: r.Problem.Answer(), Got: r.Answer,
			Correct: r.Correct, Recalled: r.Recalled, Exact: r.Divergence.Exact}
		if !r.Divergence.Exact {
			d := r.Divergence
			line.Diverged, line.DivergedThought, line.DivergedWant, line.DivergedGot = d.Role.String(), d.Thought, d.Want, d.Got
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
