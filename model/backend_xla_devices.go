//go:build xla

package model

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gomlx/go-xla/pkg/pjrt"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/xla"
)

// forceDeviceCountFlag is XLA's flag for the number of devices the CPU client simulates.
const forceDeviceCountFlag = "--xla_force_host_platform_device_count"

// newXLABackend creates the resolved configuration's backend. On the installed CPU plugin (plugin
// set) it honours XLA_FLAGS' --xla_force_host_platform_device_count=N: the PJRT CPU plugin does not
// read that flag (it always made 4 devices here) but takes the count as its "cpu_device_count" client
// option, which GoMLX's configuration string cannot carry.
func newXLABackend(resolved, plugin, xlaFlags string) (backends.Backend, error) {
	n, ok, err := forcedDeviceCount(xlaFlags)
	if err != nil {
		return nil, err
	}
	if plugin == "" || !ok {
		return newQuietBackend(resolved)
	}
	_, pluginAndOptions, _ := strings.Cut(resolved, ":")
	return quietly(resolved, func() (backends.Backend, error) {
		return xla.NewWithOptions(pluginAndOptions, pjrt.NamedValuesMap{"cpu_device_count": int64(n)})
	})
}

// forcedDeviceCount reads --xla_force_host_platform_device_count=N from XLA_FLAGS.
func forcedDeviceCount(xlaFlags string) (n int, ok bool, err error) {
	for _, f := range strings.Fields(xlaFlags) {
		value, found := strings.CutPrefix(f, forceDeviceCountFlag+"=")
		if !found {
			continue
		}
		n, err = strconv.Atoi(value)
		if err != nil || n < 1 {
			return 0, false, fmt.Errorf("%w: XLA_FLAGS %s: want a device count >= 1", ErrBackend, f)
		}
		ok = true
	}
	return n, ok, nil
}
