// Fails if a TypeScript file escapes the type checker: `x as T` or `<T>x` casts, `x!`
// non-null assertions, `any`, user-defined type predicates (`v is T` or `asserts v is T`,
// a cast in disguise), or `@ts-ignore` / `@ts-expect-error` / `@ts-nocheck` comments. Data from
// the API must be narrowed by checks that throw, so the story proves that the generated
// types fit what the service sends.
//
//     node conformance/ts/check-no-casts.mjs conformance/ts/story.ts
//
// It walks the syntax tree (the TypeScript package pinned in package.json), so a word
// "as" in a string or a comment is not counted.
import { readFileSync } from "node:fs";
import ts from "typescript";

const files = process.argv.slice(2);
if (files.length === 0) {
    console.error("usage: check-no-casts.mjs FILE.ts...");
    process.exit(2);
}

let found = 0;
for (const file of files) {
    const text = readFileSync(file, "utf8");
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const report = (node, what) => {
        const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
        console.error(`${file}:${line + 1}:${character + 1}: ${what}: ${node.getText(source).slice(0, 80)}`);
        found += 1;
    };
    const visit = (node) => {
        if (ts.isAsExpression(node)) {
            report(node, "`as` cast");
        } else if (ts.isTypeAssertionExpression(node)) {
            report(node, "`<T>` cast");
        } else if (ts.isNonNullExpression(node)) {
            report(node, "`!` non-null assertion");
        } else if (node.kind === ts.SyntaxKind.AnyKeyword) {
            report(node, "`any`");
        } else if (ts.isTypePredicateNode(node) && node.type !== undefined) {
            // `asserts condition` (a boolean checked at run time) is sound; `v is T` and
            // `asserts v is T` claim a type that nothing checks.
            report(node, "type predicate");
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    for (const match of text.matchAll(/@ts-(ignore|expect-error|nocheck)/g)) {
        const { line, character } = source.getLineAndCharacterOfPosition(match.index);
        console.error(`${file}:${line + 1}:${character + 1}: a @ts-${match[1]} comment`);
        found += 1;
    }
}
if (found > 0) {
    console.error(`${found} escape(s) from the type checker`);
    process.exit(1);
}
console.log(`no casts, non-null assertions, any, type predicates or ts comments in ${files.join(", ")}`);
