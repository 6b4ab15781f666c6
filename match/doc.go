// Package match compiles the brand and phrase lexicon of a rules file and finds
// brands, counterfeit-indicator phrases and rules that hold in OCR text.
package match
