package consensus_test

import (
	"fmt"

	"github.com/zoomr-go/zoomr/consensus"
)

// Two layers with two query heads each score four sealed thoughts; each head votes for its top 2.
func ExampleGlobalVote() {
	s := consensus.Scores{Layers: 2, Heads: 2, Thoughts: 4, Data: []float32{
		1, 9, 5, 2, // layer 0, head 0 votes t1, t2
		8, 1, 7, 3, // layer 0, head 1 votes t0, t2
		3, 2, 6, 9, // layer 1, head 0 votes t3, t2
		9, 4, 1, 2, // layer 1, head 1 votes t0, t1
	}}
	sel := &consensus.GlobalVote{Options: consensus.Options{VotesPerHead: 2}}
	res, err := sel.Select(s, nil, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	// t2 has 3 votes; t0 and t1 tie on 2 and t0 wins on its summed score (21 against 16).
	fmt.Println("zoom into:", res.IDs, "votes:", res.Votes)
	fmt.Printf("agreeability: %d of %g votes = %.3f\n", int(res.Votes[0]+res.Votes[1]), res.TotalVotes, res.Agreeability)
	// Output:
	// zoom into: [0 2] votes: [2 3]
	// agreeability: 5 of 8 votes = 0.625
}

// Only valid thoughts compete: here thought 2 is being written and cannot be zoomed yet.
func ExampleRecent() {
	var sel consensus.Recent
	res, _ := sel.Select(consensus.Scores{Thoughts: 4}, []bool{true, true, false, true}, 2)
	fmt.Println(res.IDs)
	// Output: [1 3]
}

// Layers can be kept from voting, here the first one.
func ExampleOptions() {
	s := consensus.Scores{Layers: 2, Heads: 1, Thoughts: 3, Data: []float32{
		9, 0, 0, // layer 0 (skipped)
		0, 0, 9, // layer 1
	}}
	sel, _ := consensus.NewGlobalVote(consensus.Options{VotesPerHead: 1, SkipLayers: 1})
	res, _ := sel.Select(s, nil, 1)
	fmt.Println(res.IDs, res.Agreeability)
	// Output: [2] 1
}
