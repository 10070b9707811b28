// The self-contained build of nunjucks (see nunjucks-internals.ts for why it is used); same API as the main entry.
declare module "nunjucks/browser/nunjucks.js" {
  import * as nunjucks from "nunjucks";
  export default nunjucks;
}
