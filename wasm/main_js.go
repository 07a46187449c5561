//go:build js

package main

import "syscall/js"

func main() {
	js.Global().Set("__wampkit_bridge", newBridge().object())
	select {} // serve the bridge for the life of the page
}
