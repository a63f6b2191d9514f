package consensus

// Recent selects the budget most recent valid thoughts (the highest ids), ignoring scores: the
// baseline that shows what voting adds. It reads only s.Thoughts (pass Scores{Thoughts: n}, or full
// scores, which are shape-checked). Votes are all 0 and Agreeability is 0: no vote is cast.
//
// The zero value is ready to use. Not safe for concurrent use.
type Recent struct {
	ids []int
	out []float64
}

// Select implements Selector.
func (r *Recent) Select(s Scores, valid []bool, budget int) (Selection, error) {
	if _, err := checkInput(s, valid, budget); err != nil {
		return Selection{}, err
	}
	r.ids = r.ids[:0]
	for t := s.Thoughts - 1; t >= 0 && len(r.ids) < budget; t-- {
		if isValid(valid, t) {
			r.ids = append(r.ids, t)
		}
	}
	if len(r.ids) == 0 {
		return Selection{}, nil
	}
	// Collected newest first; reverse into ascending order.
	for i, j := 0, len(r.ids)-1; i < j; i, j = i+1, j-1 {
		r.ids[i], r.ids[j] = r.ids[j], r.ids[i]
	}
	r.out = resize(r.out, len(r.ids))
	clear(r.out)
	return Selection{IDs: r.ids, Votes: r.out}, nil
}
