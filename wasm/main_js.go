//go:build js

package main

import "syscall/js"

func main() {
	js.Global().Set("__wampkit_bridge", theBridge.object())
	select {} // serve the bridge for the life of the page
}
