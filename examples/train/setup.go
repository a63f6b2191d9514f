package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/zoomr-go/zoomr/examples/internal/taskpos"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/summarize/train"
)

// buildModel makes the model to train, on the training backend in the training layout: a fresh one
// over the task's vocabulary, or a loaded checkpoint whose vocabulary and embedding grow by the
// protocol's tokens when it lacks them.
func buildModel(ctx context.Context, f flags, b backends.Backend) (*model.Model, *tokenizer.Tokenizer, error) {
	opts := []model.Option{model.WithBackend(b), model.WithTrainingLayout()}
	if f.init != "" && f.data == "" && f.task.Scale != task.Standard {
		// A task model grown into the scale's vocabulary (which extends the standard one).
		tok, err := tokenizer.NewWordLevel(task.VocabularyOf(f.task.Scale))
		if err != nil {
			return nil, nil, err
		}
		m, err := train.LoadGrown(ctx, f.init, tok.VocabSize(), f.seed, opts...)
		return m, tok, err
	}
	if f.init == "" {
		tok, err := tokenizer.NewWordLevel(task.VocabularyOf(f.task.Scale))
		if err != nil {
			return nil, nil, err
		}
		cfg, err := scratchConfig(f, tok)
		if err != nil {
			return nil, nil, err
		}
		m, err := model.New(cfg, model.RandomWeights(cfg, f.seed), opts...)
		return m, tok, err
	}
	return train.LoadForFineTuning(ctx, f.init, task.Protocol(), f.seed, opts...)
}

// scratchConfig is the architecture of a fresh model over tok's vocabulary (tied embeddings, RoPE).
func scratchConfig(f flags, tok *tokenizer.Tokenizer) (*model.Config, error) {
	spec := model.RandomSpec{VocabSize: tok.VocabSize(), Hidden: f.hidden, Layers: f.layers, Heads: f.heads,
		KVHeads: f.kvHeads, HeadDim: f.headDim, Intermediate: f.ffn, RopeTheta: f.ropeTheta, Tie: true, MaxPositions: 4096, EOS: []int{tok.EOS()}}
	if f.task.Scale == task.Long {
		spec.MaxPositions = 8192
	}
	data, err := json.Marshal(spec.Config())
	if err != nil {
		return nil, err
	}
	return model.ParseConfig(data)
}

// sources returns the training data and the held-out evaluator: the task's curriculum and held-out
// problems at the evaluation length, or JSONL records (no evaluator).
func sources(f flags, tok *tokenizer.Tokenizer, m *model.Model, vc train.ViewConfig) (train.Source, *train.Evaluator, error) {
	if f.data != "" {
		recs, err := readRecords(f.data)
		if err != nil {
			return nil, nil, err
		}
		r, err := summarize.NewRenderer(tok, task.RenderOptions())
		if err != nil {
			return nil, nil, err
		}
		src, err := train.NewRecordSource(recs, r, train.DefaultWeights(), f.seed)
		return src, nil, err
	}
	var stages []train.Stage
	switch f.curric {
	case "default":
		stages = train.TaskCurriculum(f.steps)
	case "eval":
		stages = train.TaskCurriculum(f.steps)[2:]
	case "long", "long-scratch":
		if f.task.Scale != task.Long {
			return nil, nil, fmt.Errorf("-curriculum %s needs -scale long", f.curric)
		}
		stages = train.LongCurriculum(f.steps)
		if f.curric == "long-scratch" {
			stages = train.LongScratchCurriculum(f.steps)
		}
	default:
		// One stage of one or more configs: K1-K2,N1-N2[;K1-K2,N1-N2...], drawn uniformly per batch.
		var tasks []task.Config
		for _, part := range strings.Split(f.curric, ";") {
			c := task.Config{Scale: f.task.Scale}
			if _, err := fmt.Sscanf(part, "%d-%d,%d-%d", &c.MinSteps, &c.MaxSteps, &c.MinWalk, &c.MaxWalk); err != nil {
				return nil, nil, fmt.Errorf("-curriculum %q: want default, eval, long, long-scratch or K1-K2,N1-N2[;K1-K2,N1-N2...]", f.curric)
			}
			tasks = append(tasks, c)
		}
		stages = []train.Stage{{Until: f.steps, Tasks: tasks}}
	}
	src, err := train.NewTaskSource(tok, stages, f.seed)
	if err != nil {
		return nil, nil, err
	}
	src.View = vc
	src.Form = f.task.Form
	src.Scale = f.task.Scale
	src.Weights.Thought = float32(f.thoughtWeight)
	// The restated question before the answer word must be right too: weigh it along.
	src.Weights.Answer = max(src.Weights.Answer, float32(f.answerWeight)/4)
	words, err := taskpos.WordIDs(tok)
	if err != nil {
		return nil, nil, err
	}
	src.TokenWeight = emphasisOf(f).hook(src, words)
	src.ExtraQuestions = f.extraQuestions
	src.QuestionCopy = f.questionCopy
	src.IndexCopy = f.indexCopy
	if f.farQuestions < 0 || f.farQuestions > 1 {
		return nil, nil, fmt.Errorf("-far-questions %g: want a share in 0..1", f.farQuestions)
	}
	src.FarQuestionShare = f.farQuestions
	if f.evalEvery <= 0 || f.evalN <= 0 {
		return src, nil, nil
	}
	g, err := f.task.Generator(task.HeldOut, f.seed+1000)
	if err != nil {
		return nil, nil, err
	}
	held, err := src.Examples(g, f.evalN)
	if err != nil {
		return nil, nil, err
	}
	ev, err := train.NewEvaluator(m, held)
	return src, ev, err
}

func readRecords(path string) ([]summarize.Record, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var recs []summarize.Record
	for rec, err := range summarize.NewReader(fh).All() {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// writeTokenizer writes the trained model's tokenizer next to its weights: the task's word-level
// vocabulary, or the loaded tokenizer.json with the added protocol tokens.
func writeTokenizer(f flags, tok *tokenizer.Tokenizer) error {
	if f.init == "" || (f.data == "" && f.task.Scale != task.Standard) {
		return tokenizer.WriteWordLevel(f.out, task.VocabularyOf(f.task.Scale))
	}
	return train.WriteTokenizer(f.init, f.out, tok, task.Protocol())
}
