package train

import (
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
)

// ErrCheckpoint: a checkpoint that cannot be written or read back.
var ErrCheckpoint = errors.New("train: checkpoint")

// Checkpoint files in a checkpoint directory.
const (
	checkpointVars     = "checkpoint.gob"  // every variable of the model's context: weights, Adam moments, step counters
	checkpointMetaFile = "checkpoint.json" // the step count and the config it was written with
)

type checkpointMeta struct {
	Step   int    `json:"step"`
	Config Config `json:"config"`
}

// Save writes a checkpoint to dir: every variable of the model's context (weights and optimizer
// state) and the step count. Files are written under temporary names and renamed, so an
// interrupted save leaves the previous checkpoint intact.
func (t *Trainer) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	tmp := filepath.Join(dir, checkpointVars+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	enc := gob.NewEncoder(f)
	if err := writeVariables(enc, t.m.Context()); err != nil {
		f.Close()
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	meta, err := json.MarshalIndent(checkpointMeta{Step: t.step, Config: t.cfg}, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	if err := os.WriteFile(filepath.Join(dir, checkpointMetaFile+".tmp"), meta, 0o644); err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, checkpointVars)); err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	return os.Rename(filepath.Join(dir, checkpointMetaFile+".tmp"), filepath.Join(dir, checkpointMetaFile))
}

func writeVariables(enc *gob.Encoder, ctx *mlctx.Context) error {
	var vars []*mlctx.Variable
	for v := range ctx.IterVariables() {
		vars = append(vars, v)
	}
	if err := enc.Encode(len(vars)); err != nil {
		return err
	}
	for _, v := range vars {
		val, err := v.Value()
		if err != nil {
			return fmt.Errorf("variable %s: %w", v.ScopeAndName(), err)
		}
		if err := enc.Encode([]string{v.Scope(), v.Name()}); err != nil {
			return err
		}
		if err := enc.Encode(v.Trainable); err != nil {
			return err
		}
		if err := val.GobSerialize(enc); err != nil {
			return fmt.Errorf("variable %s: %w", v.ScopeAndName(), err)
		}
	}
	return nil
}

// HasCheckpoint reports whether dir holds a checkpoint.
func HasCheckpoint(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, checkpointMetaFile))
	return err == nil
}

// Restore loads the checkpoint in dir into the trainer: every variable (the model's weights must
// have the same shapes) and the step count, so the next Step continues the run.
func (t *Trainer) Restore(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, checkpointMetaFile))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	var meta checkpointMeta
	if err := json.Unmarshal(data, &meta); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCheckpoint, checkpointMetaFile, err)
	}
	f, err := os.Open(filepath.Join(dir, checkpointVars))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	defer f.Close()
	dec := gob.NewDecoder(f)
	var n int
	if err := dec.Decode(&n); err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	type loaded struct {
		scope, name string
		trainable   bool
		value       *tensors.Tensor
	}
	all := make([]loaded, 0, n)
	for range n {
		var sn []string
		var l loaded
		if err := dec.Decode(&sn); err != nil || len(sn) != 2 {
			return fmt.Errorf("%w: variable header: %v", ErrCheckpoint, err)
		}
		l.scope, l.name = sn[0], sn[1]
		if err := dec.Decode(&l.trainable); err != nil {
			return fmt.Errorf("%w: %w", ErrCheckpoint, err)
		}
		if l.value, err = tensors.GobDeserialize(dec); err != nil {
			return fmt.Errorf("%w: variable %s/%s: %w", ErrCheckpoint, l.scope, l.name, err)
		}
		all = append(all, l)
	}
	// Check shapes first, so a mismatching checkpoint changes nothing.
	ctx := t.m.Context()
	for _, l := range all {
		if v := ctx.GetVariableByScopeAndName(l.scope, l.name); v != nil && !v.Shape().Equal(l.value.Shape()) {
			return fmt.Errorf("%w: variable %s/%s has shape %s, the checkpoint %s", ErrCheckpoint, l.scope, l.name,
				v.Shape(), l.value.Shape())
		}
	}
	for _, l := range all {
		if v := ctx.GetVariableByScopeAndName(l.scope, l.name); v != nil {
			if err := v.SetValue(l.value); err != nil {
				return fmt.Errorf("%w: %w", ErrCheckpoint, err)
			}
			continue
		}
		ctx.InAbsPath(l.scope).Checked(false).VariableWithValue(l.name, l.value).SetTrainable(l.trainable)
	}
	t.step = meta.Step
	return nil
}
