// Command pause is the pod sandbox ("infra") container's process for the local cluster: a
// standard-library Go port of Kubernetes' build/pause/linux/pause.c, so the pause image can be
// built without a container registry.
//
// Like pause.c it
//   - exits 0 on SIGINT or SIGTERM (the runtime stops the sandbox that way),
//   - reaps every exited child on SIGCHLD (with a shared PID namespace it is PID 1 and
//     inherits the pod's orphans, so zombies must not accumulate),
//   - otherwise blocks forever,
//   - prints its version with -v, and warns when it is not PID 1.
//
// Build (static, no cgo):
//
//	cd e2e/localcluster/k8s && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o ../../../.localcluster/bin/pause ./pause
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is reported by -v; it names this port, not an upstream pause release.
const version = "3.10-local"

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-v" {
		fmt.Printf("pause.go %s\n", version)
		return
	}
	if len(os.Args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: pause [-v]")
		os.Exit(1)
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "Warning: pause should be the first process")
	}

	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	// Children that exited before Notify was installed would never raise another SIGCHLD.
	reap()
	for sig := range sigs {
		switch sig {
		case syscall.SIGINT, syscall.SIGTERM:
			fmt.Fprintf(os.Stderr, "Shutting down, got signal: %v\n", sig)
			os.Exit(0)
		case syscall.SIGCHLD:
			// Signals coalesce: one SIGCHLD may stand for several exited children.
			reap()
		}
	}
}

// reap collects every child that has exited, without blocking.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
