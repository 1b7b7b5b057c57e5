package accountsync

import "reflect"

var (
	typeOfSlice = reflect.TypeOf([]any{})
	typeOfMap   = reflect.TypeOf(map[string]any{})
)
