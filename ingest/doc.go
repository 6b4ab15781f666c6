// Package ingest opens live and recorded video sources and decodes them into frames.
package ingest
