/**
 * Marker for text an author still has to write. The scaffold and the card
 * importer put it in place of missing content, and lint reports every field
 * that still contains it (rule placeholder-text).
 */
export const FILL_IN_MARKER = '【待填写】';

/**
 * The inner monologue the card importer writes for each example, because a
 * SillyTavern card has no monologue and a pack example needs one.
 */
export const PLACEHOLDER_MONOLOGUE = `${FILL_IN_MARKER}在这里写{{char}}此刻的内心独白：用第一人称，像自言自语一样想，不列条目，最后落在一个打算或决定上。`;
