// Package task generates the synthetic reasoning problems the project's tiny model is trained and
// evaluated on: long traces written as thoughts, each closed by a summary in ZoomR's protocol, then an
// answer. The problems are built so that the KV cache policy matters: about half of the questions need
// a detail that lives only in one earlier thought's body, the others are answered by a summary.
//
// # The problem
//
// A problem has K steps, indexed K-1 down to 0 (the last step is always #0, so "after #0 comes the
// answer" needs no counting). Step i has a key k_i. A value starts at s, and each step runs a walk of
// n moves on the ten digits: u_0 is the value before the step and u_t = F(u_{t-1}, k_i), where F is a
// fixed table (one 10-cycle of the digits per key; part of the task, learned by the model). The step's
// result, the new value, is u_n. Its note is the digit the walk showed at the counter w6 (five moves
// before the end): a by-product later steps never need.
//
// The prompt states the walk length, the start value, the steps and the question:
//
//	W w24 = v3 P #17 k4 #16 k0 … #0 k7 QN S5
//
// and the reference trace, which the model learns to write, is one thought per step:
//
//	body      #17 k4 3 w24 8 w23 1 … w6 2 … w1 6 N17 2       header, the walk counting down, the note
//	summary   <|begin_of_summary|> S17 v6 <|end_of_summary|>  the new value, tagged with the step
//	…
//	answer    <|answer|> QN S5 N5 2 <eos>                      restate the question, then answer
//
// A note question (QN S_j) is answered by the note N_j of step j, which only step j's body holds; a
// value question (QV S_j) by the value in step j's summary. Every token of the trace is computable at
// inference time from the prompt and the tokens just before it (the header reads the key from the
// prompt and the previous value from the previous summary; the walk reads its last digit, its key
// and its counter; the whole open thought fits in a 64-token window), so the model can write the
// trace under any cache policy that keeps the prompt, the summaries and a window. Only the answer
// needs to reach back: to a summary (value questions) or into a thought body (note questions).
//
// # Why this shape
//
// Every long-range read is a one-token induction copy with a unique key: "#i" → k_i in the prompt,
// "S_j" → the value in summary j, "N_j" → the note in body j. The restated question ends with the
// index tag S_j, which is also the summary's first content token: at that re-selection point
// (summarize.Reselect.SentenceEnds = the S tags) the heads that look for S_j in the summaries vote
// for thought j, its body is zoomed in, and the next token N_j finds the note by induction. Recovering
// a note without the body means running the walk backwards from the summary: no shortcut the model is
// ever trained on.
//
// # Question forms
//
// In SummaryTagForm (the zero value) a note question is asked by the step's summary tag and
// answered "QN S5 N5 d": after the restated question the model itself must choose the note's tag
// over the value the summary S5 holds. In NoteTagForm it is asked by the note's own tag, "QN N5",
// and answered "QN N5 d": the restated question copies the prompt's and the note is one induction
// copy from the body, with no choice of form; the decoder then re-selects after N tags too
// (ReselectWords). BothTagsForm asks "QN S5 N5" and is answered "QN S5 N5 d": the routing stays at
// the S tag, as in the summary-tag form, and the answer's form is one induction copy from the
// prompt's own "S5 N5" (no value question's prompt has that bigram), so it need not be read from QN
// at a distance. A model directory records its form (examples/internal/taskrun.TaskFile). A
// problem belongs to the same split in every form. None of the forms taught the bundled model
// (testdata/zoomr-tiny; docs/training-history.md) to pick a far step's answer form from the question: the
// both-tags form moved the bias between the forms, and the note-tag form's routing loss at N tags
// broke the far note copy (an N tag also precedes the note in every body).
//
// TagFirstForm asks "S5 QN" (or "S5 QV") and is answered "S5 QN N5 d" (or "S5 QV S5 v6"): a
// structural fix of that choice. The word after the restated S tag is a question word for both
// kinds, so no answer ever continues its S tag with the summary's value there; the word that picks
// the form is predicted at the question word itself (N5 after QN, S5 again after QV), from the tag
// right before it; the answer word then follows its tag as in the trace (the body's "N5 d", the
// summary's "S5 v6"). Routing stays at the first S tag.
//
// # Scales
//
// The standard scale (the zero Scale; Vocabulary) has up to 24 steps of up to 32 moves, evaluated
// at 18..20 steps of 24 (≈1,100-token traces). The long scale (Long; VocabularyOf(Long), the
// standard words then #24..#47, S24..S47, N24..N47 and w33..w48, so a standard model grows into it
// with its ids unchanged) has up to 48 steps of up to 48 moves, evaluated at 40..44 steps of 48
// (Config{Scale: Long}: 4,200..4,650-token traces in 40..44 thoughts). A thought (101 body tokens
// and a 4-token summary) still fits a 128-token window; the prompt, every summary, two 32-token
// zoom slots and the window fit 512 slots of KV where the full cache holds 8,192.
//
// # Answer grammar
//
// AnswerGrammar constrains a decoder's answer to the schema of a form (a zoomr.LogitsProcessor):
// after the answer marker, the restated question, then the answer word of that question's kind,
// then EOS. The model still chooses the question word, the step and the answer word; only the
// other kind's form and run-on answers are ruled out. examples/eval -answer-grammar measures with
// it, so that what is left is the trace and the long-range copy the cache policy decides.
//
// # Splits
//
// Held-out problems are never generated for training: a problem belongs to the held-out split iff a
// hash of its prompt falls in a reserved 1/8 of the hash space (HeldOut), whatever the seed.
package task
