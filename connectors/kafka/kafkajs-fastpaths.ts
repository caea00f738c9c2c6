/**
 * Our replacements for kafkajs functions that kafkajs takes when it is loaded (the request framing of
 * its connections, the per-partition grouping of its producer). Modules that load kafkajs import this
 * one first, so that it is evaluated before kafkajs; see each module for what it replaces and why.
 */
import './partition-grouping-fastpath.js';
import './request-framing-fastpath.js';
