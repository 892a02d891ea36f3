//go:build race

package main

// raceEnabled: under the race detector bcrypt (every staff login) runs
// several times slower, so the in-process server test is left to plain runs.
const raceEnabled = true
