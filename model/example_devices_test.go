//go:build xla

package model_test

import (
	"context"
	"fmt"
	"log"

	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/zoomr"
)

// A model split across 4 devices: 4 GPUs of one machine, or here the 4 devices XLA's CPU plugin
// simulates. A decoder on it keeps its active contexts split the same way. (Compiled, not run: it
// needs the plugin, go run ./examples/install-xla, and a model directory.)
func ExampleWithDevices() {
	ctx := context.Background()
	backend, err := model.NewBackend("xla:cpu") // or "xla:cuda" on a GPU machine
	if err != nil {
		log.Fatal(err)
	}
	m, err := model.Load(ctx, "path/to/hf-model", model.WithBackend(backend), model.WithDevices(4))
	if err != nil {
		log.Fatal(err) // model.ErrDevices: e.g. 4 does not divide the KV heads
	}
	perDevice, err := m.DeviceWeightBytes()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d devices, weight bytes per device %v of %d\n", m.Devices(), perDevice, m.WeightBytes())
	d, err := zoomr.New(m, nil, zoomr.Config{MaxTokens: 64})
	if err != nil {
		log.Fatal(err)
	}
	toks, stats, err := d.Run(ctx, []int{1, 2, 3})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(toks), stats.TransferBytes)
}
