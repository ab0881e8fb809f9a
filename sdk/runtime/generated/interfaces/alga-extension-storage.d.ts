// Generated from wit/ by scripts/gen-types.ts (jco guest types). Do not edit.
/// <reference path="./alga-extension-types.d.ts" />
declare module 'alga:extension/storage@0.1.0' {
  export function get(key: string): Uint8Array | undefined;
  export function put(key: string, value: Uint8Array): void;
  /**
   * True when the key existed.
   */
  export { _delete as delete };
  function _delete(key: string): boolean;
  /**
   * Keys starting with `prefix`, in key order, at most `limit` per page.
   */
  export function listByPrefix(prefix: string, cursor: string | undefined, limit: number): Page;
  /**
   * The value and its version, or none when the key does not exist.
   */
  export function getVersioned(key: string): VersionedValue | undefined;
  /**
   * Adds `by` (may be negative) to the integer stored at `key` and returns the sum, in one
   * atomic step. The value is the integer's decimal text (what `put` of "42" or JSON `42`
   * stores); an absent key counts as 0. `invalid` when the value is not an integer or the sum
   * leaves the s64 range.
   */
  export function increment(key: string, by: bigint): bigint;
  /**
   * Runs the operations in order as one atomic transaction: either every write lands or,
   * when a step's expectation does not hold (`conflict`) or a call fails (`err`), none does.
   * Quotas apply to the state after the whole batch. At most 100 operations.
   */
  export function batch(operations: Array<Operation>): BatchOutcome;
  export type HostError = import('alga:extension/types@0.1.0').HostError;
  export interface Entry {
    key: string,
    value: Uint8Array,
  }
  export interface Page {
    entries: Array<Entry>,
    /**
     * Pass back to `list` to read the next page; none when this was the last.
     */
    cursor?: string,
  }
  /**
   * A value and the version of the write that stored it.
   */
  export interface VersionedValue {
    value: Uint8Array,
    /**
     * Grows with every write of the key and is never reused for it, also after a delete.
     * 0 for a value stored before versions existed, until its next write.
     */
    version: bigint,
  }
  /**
   * What a conditional operation expects of its key when it runs.
   */
  export type Expectation = ExpectationAbsent | ExpectationVersion | ExpectationValue;
  /**
   * The key does not exist.
   */
  export interface ExpectationAbsent {
    tag: 'absent',
  }
  /**
   * The key exists with this version.
   */
  export interface ExpectationVersion {
    tag: 'version',
    val: bigint,
  }
  /**
   * The key exists and holds exactly these bytes.
   */
  export interface ExpectationValue {
    tag: 'value',
    val: Uint8Array,
  }
  export interface PutOperation {
    key: string,
    value: Uint8Array,
    /**
     * When given, the batch commits only if the key is as expected.
     */
    expect?: Expectation,
  }
  export interface DeleteOperation {
    key: string,
    expect?: Expectation,
  }
  export interface IncrementOperation {
    key: string,
    by: bigint,
  }
  export interface CheckOperation {
    key: string,
    expect: Expectation,
  }
  /**
   * One step of a batch. Steps run in order; each sees the writes of the steps before it.
   */
  export type Operation = OperationPut | OperationDelete | OperationIncrement | OperationCheck;
  export interface OperationPut {
    tag: 'put',
    val: PutOperation,
  }
  export interface OperationDelete {
    tag: 'delete',
    val: DeleteOperation,
  }
  export interface OperationIncrement {
    tag: 'increment',
    val: IncrementOperation,
  }
  /**
   * Writes nothing: the batch commits only if the key is as expected.
   */
  export interface OperationCheck {
    tag: 'check',
    val: CheckOperation,
  }
  /**
   * What one step of a committed batch did.
   */
  export type OperationResult = OperationResultPut | OperationResultDelete | OperationResultIncrement | OperationResultCheck;
  /**
   * The key's new version.
   */
  export interface OperationResultPut {
    tag: 'put',
    val: bigint,
  }
  /**
   * True when the key existed.
   */
  export interface OperationResultDelete {
    tag: 'delete',
    val: boolean,
  }
  /**
   * The counter's new value.
   */
  export interface OperationResultIncrement {
    tag: 'increment',
    val: bigint,
  }
  export interface OperationResultCheck {
    tag: 'check',
  }
  /**
   * The first step whose expectation did not hold. Nothing of the batch was written.
   */
  export interface Conflict {
    /**
     * The step's position in the batch, from 0.
     */
    index: number,
    key: string,
    /**
     * The key's version when the step ran; none when the key did not exist.
     */
    currentVersion?: bigint,
  }
  export type BatchOutcome = BatchOutcomeCommitted | BatchOutcomeConflict;
  export interface BatchOutcomeCommitted {
    tag: 'committed',
    val: Array<OperationResult>,
  }
  export interface BatchOutcomeConflict {
    tag: 'conflict',
    val: Conflict,
  }
}
